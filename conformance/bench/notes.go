package bench

// Notes returns the analysis section of the report.
func Notes(r *Result) string { return "" }
