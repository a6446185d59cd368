package report

import (
	"bytes"
	"image/color"
	"image/png"
	"testing"
)

func TestWritePNG(t *testing.T) {
	for name, s := range map[string]Summary{
		"full":  cannedReport().Summary,
		"empty": Summarize(1, nil, nil), // nothing measured must still draw
	} {
		var buf bytes.Buffer
		if err := WritePNG(&buf, s, ChartLabels{Title: "Runnel vs kfake", LatencyRate: 20000, LatencyGoalMS: LatencyGoalMS}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		img, err := png.Decode(&buf)
		if err != nil {
			t.Fatalf("%s: decode: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() != ChartWidth || b.Dy() != ChartHeight {
			t.Errorf("%s: size %v, want %dx%d", name, b, ChartWidth, ChartHeight)
		}
		counts := map[color.RGBA]int{}
		for y := range ChartHeight {
			for x := range ChartWidth {
				r, g, b, a := img.At(x, y).RGBA()
				counts[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a >> 8)}]++
			}
		}
		inked := ChartWidth*ChartHeight - counts[color.RGBA{0xff, 0xff, 0xff, 0xff}]
		if inked < 2000 {
			t.Errorf("%s: only %d non-white pixels", name, inked)
		}
		if name == "full" {
			// Bars are solid blocks: thousands of pixels of each series.
			for _, c := range []color.RGBA{colRunnel, colKfake, colLimit} {
				if counts[c] < 1000 {
					t.Errorf("%s: %d pixels of %v, want bars of it", name, counts[c], c)
				}
			}
		}
	}
}
