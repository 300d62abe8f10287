package db

// Keyset paging: a list fetches one row more than its page holds, and the
// last row of a full page is where the next page starts (its cursor). Every
// paged list (ListForOrg, ListByMentor, Export, ReviewAuditLog) goes through
// these two helpers.

// maxPageRows is the largest page a list returns.
const maxPageRows = 1000

// pageLimit clamps a caller's page size to [1, maxPageRows] and returns it
// with the number of rows to fetch: one more, to tell whether a next page
// exists.
func pageLimit(limit int) (int, int32) {
	limit = min(max(limit, 1), maxPageRows)
	return limit, int32(limit + 1)
}

// keysetPage cuts the rows fetched for a page of limit to the page and
// returns the cursor of its last row when more rows follow (nil on the last
// page).
func keysetPage[R, C any](rows []R, limit int, cursor func(R) C) ([]R, *C) {
	if len(rows) <= limit {
		return rows, nil
	}
	rows = rows[:limit]
	next := cursor(rows[len(rows)-1])
	return rows, &next
}
