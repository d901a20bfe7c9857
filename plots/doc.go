// Package plots draws manta's benchmark figures with gonum.org/v1/plot,
// in the shapes the Ray paper (OSDI 2018) uses: grouped bar charts with
// error bars (Bars) and line plots on linear or logarithmic axes (Lines),
// with the paper's stated numbers overlaid as a distinct series (black,
// dashed, hollow glyphs or outlined bars, labelled by the caller, "paper: ..." by convention).
//
// A Figure is a complete, JSON-serialisable description of one plot: the
// benchmark harness stores it in each result file, and Render draws it as
// PNG and SVG (fonts referenced by name, not embedded), so any figure can
// be redrawn from its result file alone (ReadFigures).
//
//	f := plots.Figure{Name: "table4", Kind: plots.KindLines, LogX: true, LogY: true, ...}
//	paths, err := plots.Render(f, "results") // results/table4.png, results/table4.svg
//
// Values on a logarithmic axis must be positive; Validate reports what
// cannot be drawn instead of letting gonum panic. The package knows
// nothing of manta's runtime (it must not import core, sched or gcs).
package plots
