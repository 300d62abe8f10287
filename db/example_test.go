package db_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/mentordb/mentordb/db"
)

// The examples run against a real, migrated PostgreSQL that TestMain
// (main_test.go) provides: pool is its pool, newUser stands in for Supabase
// Auth creating an account.

// The one-call form: a single repository call in a request of its own.
func ExampleDB_ProxyActivities() {
	ctx := context.Background()
	d := db.New(pool)
	org, coordinator, mentor := exampleOrg(ctx, d)

	a, err := d.ProxyActivities().Create(ctx, db.User(coordinator, org), db.NewProxyActivity{
		OrgID: org, AttributedMentorID: mentor, ActivityType: "visit",
		Date: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), DurationMinutes: 45,
	})
	fmt.Println(err, a.CoordinatorID == coordinator, a.AttributedMentorID == mentor)

	// Bad input is a typed error, and nothing is written.
	_, err = d.ProxyActivities().Create(ctx, db.User(coordinator, org), db.NewProxyActivity{
		OrgID: org, AttributedMentorID: coordinator, ActivityType: "visit",
		Date: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), DurationMinutes: 45,
	})
	fmt.Println(errors.Is(err, db.ErrSelfAttribution), errors.Is(err, db.ErrCheck))
	// Output:
	// <nil> true true
	// true true
}

// A composed request: two repository calls and the caller's own SQL in one
// transaction, as one caller. If any step fails, none of it is kept.
func ExampleDB_Do() {
	ctx := context.Background()
	d := db.New(pool)
	org, coordinator, mentor := exampleOrg(ctx, d)

	err := d.Do(ctx, db.User(coordinator, org), func(r *db.Request) error {
		a, err := r.Activities().Create(ctx, db.NewProxyActivity{
			OrgID: org, AttributedMentorID: mentor, ActivityType: "phone call",
			Date: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), DurationMinutes: 20,
		})
		if err != nil {
			return err
		}
		if _, err := r.Pauses().Pause(ctx, mentor, db.PauseOptions{Reason: "holiday"}); err != nil {
			return err
		}
		// The caller's own table, written in the same transaction.
		_, err = r.Tx().Exec(ctx, `INSERT INTO example_outbox (event, ref) VALUES ('activity.created', $1)`, a.ID)
		return err
	})
	fmt.Println(err)

	st, err := d.Pauses().Status(ctx, db.User(coordinator, org), mentor, org)
	fmt.Println(err, st.State)
	// Output:
	// <nil>
	// <nil> paused
}

// DoTx runs a request inside a transaction the caller already holds (here a
// plain pgx transaction, as a job queue's InsertTx would use): the request's
// work commits or rolls back with the caller's, and the caller's next
// statement runs as the caller again.
func ExampleDoTx() {
	ctx := context.Background()
	d := db.New(pool)
	org, coordinator, mentor := exampleOrg(ctx, d)

	tx, err := pool.Begin(ctx)
	if err != nil {
		panic(err)
	}
	defer tx.Rollback(ctx)
	err = db.DoTx(ctx, tx, db.User(coordinator, org), func(r *db.Request) error {
		_, err := r.Activities().Create(ctx, db.NewProxyActivity{
			OrgID: org, AttributedMentorID: mentor, ActivityType: "visit",
			Date: time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC), DurationMinutes: 30,
		})
		return err
	})
	fmt.Println("request:", err)
	// The caller's own statement, after the request, in the same transaction.
	var role string
	if err := tx.QueryRow(ctx, `SELECT current_user`).Scan(&role); err != nil {
		panic(err)
	}
	fmt.Println("still authenticated:", role == db.RoleAuthenticated)
	fmt.Println("commit:", tx.Commit(ctx))
	// Output:
	// request: <nil>
	// still authenticated: false
	// commit: <nil>
}

// Administration as service_role: an organisation, a chapter and its
// memberships, in one request. Role names are constants.
func ExampleDB_Admin() {
	ctx := context.Background()
	d := db.New(pool)
	coordinator, mentor := newUser(ctx), newUser(ctx)

	var chapter db.Chapter
	err := d.Do(ctx, db.ServiceRole(), func(r *db.Request) error {
		a := r.Admin()
		org, err := a.CreateOrganization(ctx, "Blue Cross Bergen")
		if err != nil {
			return err
		}
		if chapter, err = a.CreateChapter(ctx, org.ID, "Sentrum"); err != nil {
			return err
		}
		if _, err := a.AddMember(ctx, org.ID, coordinator, db.RoleCoordinator); err != nil {
			return err
		}
		if _, err := a.AddMember(ctx, org.ID, mentor, db.RolePeerMentor); err != nil {
			return err
		}
		_, err = a.AddChapterMember(ctx, chapter.ID, mentor)
		return err
	})
	fmt.Println(err, chapter.Name)

	// A missing org is a typed error, and nothing is written.
	_, err = d.Admin().AddMember(ctx, db.ServiceRole(), uuid.New(), mentor, db.RolePeerMentor)
	fmt.Println(errors.Is(err, db.ErrForeignKey))
	// Only service_role administers.
	_, err = d.Admin().CreateOrganization(ctx, db.User(coordinator, chapter.OrgID), "mine now")
	fmt.Println(errors.Is(err, db.ErrNotPermitted))
	// Output:
	// <nil> Sentrum
	// true
	// true
}

// exampleOrg creates an org with a coordinator and a peer mentor through the
// admin API.
func exampleOrg(ctx context.Context, d *db.DB) (org, coordinator, mentor uuid.UUID) {
	coordinator, mentor = newUser(ctx), newUser(ctx)
	err := d.Do(ctx, db.ServiceRole(), func(r *db.Request) error {
		o, err := r.Admin().CreateOrganization(ctx, "example org")
		if err != nil {
			return err
		}
		org = o.ID
		if _, err := r.Admin().AddMember(ctx, org, coordinator, db.RoleCoordinator); err != nil {
			return err
		}
		_, err = r.Admin().AddMember(ctx, org, mentor, db.RolePeerMentor)
		return err
	})
	if err != nil {
		panic(err)
	}
	return org, coordinator, mentor
}
