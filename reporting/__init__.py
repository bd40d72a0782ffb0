"""Reports of a run: the model never imports matplotlib; formatting and plotting live here.

writer.write_report(report, out_dir, force=False)   report.json, report.md, plots
writer.write_comparison(reports, out_dir)           compare.md, compare.png, compare.json
markdown.render(report), terminal.summary(report), compare.render(reports),
plots.write_plots(report, out_dir), compare.write_chart(reports, out_dir)
"""
