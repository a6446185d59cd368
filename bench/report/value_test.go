package report

import "testing"

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want Value
	}{
		{"empty", nil, None},
		{"one", []float64{7}, Some(7)},
		{"odd, unsorted", []float64{9, 1, 5}, Some(5)},
		{"even: mean of the middle two", []float64{4, 1, 10, 2}, Some(3)},
		{"outlier does not move it", []float64{100, 101, 1e9}, Some(101)},
	}
	for _, tt := range tests {
		if got := Median(tt.in); got != tt.want {
			t.Errorf("%s: Median(%v) = %v, want %v", tt.name, tt.in, got, tt.want)
		}
	}
	in := []float64{3, 2, 1}
	Median(in)
	if in[0] != 3 {
		t.Error("Median sorted its caller's slice")
	}
}

func TestRatio(t *testing.T) {
	tests := []struct {
		a, b, want Value
	}{
		{Some(5), Some(2), Some(2.5)},
		{None, Some(2), None},
		{Some(5), None, None},
		{Some(5), Some(0), None}, // a broker that moved nothing is no yardstick
	}
	for _, tt := range tests {
		if got := Ratio(tt.a, tt.b); got != tt.want {
			t.Errorf("Ratio(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestFormatNumber(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 0.5: "0.5", 0.123: "0.12", 0.0456: "0.046",
		2.5: "2.5", 12.34: "12.3", 20000: "20000", 1234.6: "1235"} {
		if got := formatNumber(in); got != want {
			t.Errorf("formatNumber(%v) = %q, want %q", in, got, want)
		}
	}
}
