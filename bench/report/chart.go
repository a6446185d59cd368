package report

import (
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// The chart's size in pixels.
const (
	ChartWidth  = 1200
	ChartHeight = 560
)

// Colours: one per series, the same in both panels and the legend.
var (
	colRunnel = color.RGBA{0x1f, 0x77, 0xb4, 0xff} // blue
	colKfake  = color.RGBA{0xff, 0x7f, 0x0e, 0xff} // orange
	colLimit  = color.RGBA{0x99, 0x99, 0x99, 0xff} // grey
	colTarget = color.RGBA{0xd6, 0x27, 0x28, 0xff} // red
	colText   = color.RGBA{0x22, 0x22, 0x22, 0xff}
	colGrid   = color.RGBA{0xe4, 0xe4, 0xe4, 0xff}
	colAxis   = color.RGBA{0x55, 0x55, 0x55, 0xff}
)

var face = basicfont.Face7x13

// ChartLabels is what the chart says beyond the summary's numbers.
type ChartLabels struct {
	Title         string
	LatencyRate   float64 // records/s of the latency workload; 0 leaves it unsaid
	LatencyGoalMS float64 // drawn as a line; 0 draws none
}

// WritePNG draws the chart of a summary and encodes it as PNG.
func WritePNG(w io.Writer, s Summary, l ChartLabels) error {
	return png.Encode(w, Chart(s, l))
}

// Chart draws two panels: throughput per workload (Runnel, kfake and the
// machine limit that bounds it) on a linear axis, and the latency run's
// percentiles per broker on a log axis, with the latency goal as a line.
func Chart(s Summary, l ChartLabels) *image.RGBA {
	title, latencyGoalMS := l.Title, l.LatencyGoalMS
	c := &canvas{img: image.NewRGBA(image.Rect(0, 0, ChartWidth, ChartHeight))}
	draw.Draw(c.img, c.img.Bounds(), image.White, image.Point{}, draw.Src)

	c.text(20, 26, title, colText)
	legend := []struct {
		name string
		col  color.RGBA
	}{{Runnel, colRunnel}, {Kfake, colKfake}, {"machine limit", colLimit}}
	if latencyGoalMS > 0 {
		legend = append(legend, struct {
			name string
			col  color.RGBA
		}{"p99 latency goal, " + formatNumber(latencyGoalMS) + " ms", colTarget})
	}
	x := 20
	for _, l := range legend {
		c.fill(x, 38, x+12, 50, l.col)
		c.text(x+18, 49, l.name, colText)
		x += 18 + c.width(l.name) + 24
	}

	top, bottom := 100, ChartHeight-70
	c.throughputPanel(s, panel{x0: 80, x1: 600, top: top, bottom: bottom})
	c.latencyPanel(s, panel{x0: 720, x1: 1170, top: top, bottom: bottom}, l.LatencyRate, latencyGoalMS)
	c.text(20, ChartHeight-14, "Medians of the reps; MB = 10^6 bytes; n/a = not measured. "+
		"Produce is compared with disk write+fdatasync, consume with loopback TCP (iperf3).", colAxis)
	return c.img
}

type panel struct{ x0, x1, top, bottom int }

// bar is one bar of a group; a missing value draws "n/a" instead.
type bar struct {
	v   Value
	col color.RGBA
}

func (c *canvas) throughputPanel(s Summary, p panel) {
	c.text(p.x0, p.top-14, "Throughput (MB/s, higher is better)", colText)
	var labels []string
	var groups [][]bar
	hi := 0.0
	for _, w := range Workloads {
		if !w.Throughput {
			continue
		}
		var g []bar
		for _, b := range Brokers {
			r, _ := s.Row(w.ID, b)
			g = append(g, bar{r.MBPerSec, seriesColour(b)})
		}
		if w.Limit != "" {
			g = append(g, bar{s.Limits[w.Limit], colLimit})
		}
		for _, b := range g {
			if b.v.OK {
				hi = math.Max(hi, b.v.V)
			}
		}
		labels, groups = append(labels, w.Short), append(groups, g)
	}
	top, step := niceAxis(hi)
	y := func(v float64) int { return p.bottom - int(math.Round(v/top*float64(p.bottom-p.top))) }
	for v := 0.0; v <= top+step/2; v += step {
		c.hline(p.x0, p.x1, y(v), colGrid)
		lbl := formatNumber(v)
		c.text(p.x0-8-c.width(lbl), y(v)+4, lbl, colAxis)
	}
	c.bars(p, labels, groups, func(v float64) (int, bool) { return y(v), v >= 0 })
}

func (c *canvas) latencyPanel(s Summary, p panel, rate, goalMS float64) {
	at := ""
	if rate > 0 {
		at = " at " + formatNumber(rate) + " records/s"
	}
	c.text(p.x0, p.top-14, "Produce latency"+at+" (ms, log scale, lower is better)", colText)
	labels := []string{"p50", "p99", "p99.9", "max"}
	groups := make([][]bar, len(labels))
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, b := range Brokers {
		r, _ := s.Row(Latency1P, b)
		for i, v := range []Value{r.P50, r.P99, r.P999, r.Max} {
			if v.OK && v.V > 0 {
				v = Some(v.V / 1000) // µs to ms
				lo, hi = math.Min(lo, v.V), math.Max(hi, v.V)
			} else {
				v = None
			}
			groups[i] = append(groups[i], bar{v, seriesColour(b)})
		}
	}
	if math.IsInf(lo, 1) { // nothing measured: an empty axis around 1 ms
		lo, hi = 1, 1
	}
	if goalMS > 0 {
		lo, hi = math.Min(lo, goalMS), math.Max(hi, goalMS)
	}
	dlo, dhi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if dhi-dlo < 2 {
		dlo, dhi = dlo-1, dhi+1
	}
	y := func(v float64) int {
		f := (math.Log10(v) - dlo) / (dhi - dlo)
		return p.bottom - int(math.Round(f*float64(p.bottom-p.top)))
	}
	for d := dlo; d <= dhi; d++ {
		v := math.Pow(10, d)
		c.hline(p.x0, p.x1, y(v), colGrid)
		lbl := formatNumber(v)
		c.text(p.x0-8-c.width(lbl), y(v)+4, lbl, colAxis)
	}
	c.bars(p, labels, groups, func(v float64) (int, bool) { return y(v), v > 0 })
	if goalMS > 0 {
		gy := y(goalMS)
		for x := p.x0; x < p.x1; x += 8 { // dashed, named in the legend
			c.hline(x, min(x+5, p.x1), gy, colTarget)
		}
	}
}

// bars draws groups of bars from the bottom of a panel, their values on
// top, the group labels underneath, and the axes. y maps a value to a
// pixel row and says whether it can be drawn on this axis.
func (c *canvas) bars(p panel, labels []string, groups [][]bar, y func(float64) (int, bool)) {
	gw := (p.x1 - p.x0) / max(len(groups), 1)
	for gi, g := range groups {
		gx := p.x0 + gi*gw
		bw := gw * 7 / (10 * max(len(g), 1))
		x := gx + (gw-bw*len(g))/2
		for _, b := range g {
			yv, ok := y(b.v.V)
			if !b.v.OK || !ok {
				c.centered(x+bw/2, p.bottom-4, na, colAxis)
			} else {
				c.fill(x, min(yv, p.bottom-1), x+bw-2, p.bottom, b.col)
				c.centered(x+bw/2, yv-4, formatNumber(b.v.V), colText)
			}
			x += bw
		}
		c.centered(gx+gw/2, p.bottom+18, labels[gi], colText)
	}
	c.hline(p.x0, p.x1, p.bottom, colAxis)
	c.vline(p.x0, p.top, p.bottom, colAxis)
}

func seriesColour(broker string) color.RGBA {
	if broker == Runnel {
		return colRunnel
	}
	return colKfake
}

// niceAxis picks a linear axis top at or above hi with 4–8 round steps.
func niceAxis(hi float64) (top, step float64) {
	if hi <= 0 {
		return 1, 0.25
	}
	raw := hi * 1.1 / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if step = m * mag; step >= raw {
			break
		}
	}
	return math.Ceil(hi*1.1/step) * step, step
}

// canvas wraps the few drawing primitives the chart needs.
type canvas struct{ img *image.RGBA }

func (c *canvas) fill(x0, y0, x1, y1 int, col color.Color) {
	draw.Draw(c.img, image.Rect(x0, y0, x1, y1), image.NewUniform(col), image.Point{}, draw.Src)
}

func (c *canvas) hline(x0, x1, y int, col color.Color) { c.fill(x0, y, x1+1, y+1, col) }
func (c *canvas) vline(x, y0, y1 int, col color.Color) { c.fill(x, y0, x+1, y1+1, col) }

// text draws s with its baseline at y, starting at x.
func (c *canvas) text(x, y int, s string, col color.Color) {
	d := font.Drawer{Dst: c.img, Src: image.NewUniform(col), Face: face, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func (c *canvas) centered(x, y int, s string, col color.Color) { c.text(x-c.width(s)/2, y, s, col) }

func (c *canvas) width(s string) int { return font.MeasureString(face, s).Round() }
