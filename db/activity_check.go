package db

import (
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/mentordb/mentordb/gen"
)

// activityRow is an activity write as the database takes it: the columns of
// CreateProxyActivity, which CopyProxyActivities shares in the same order
// (Import converts it), CreateMany sends as JSON and Update takes the
// editable ones of. Every activity write builds it through checkActivity or
// checkFields, the one validation path.
type activityRow = gen.CreateProxyActivityParams

// checkActivity pre-checks an activity in (checkFields, then
// self-attribution: in.CoordinatorID is who registers it) and converts it
// for the database; the database enforces each again. Its ID is in.ID, or
// a new one.
func checkActivity(in NewProxyActivity) (activityRow, error) {
	v, err := checkFields(in)
	if err != nil {
		return activityRow{}, err
	}
	v.ID, v.CoordinatorID, v.OrgID = in.ID, in.CoordinatorID, in.OrgID
	if v.ID == uuid.Nil {
		v.ID = uuid.New()
	}
	return v, checkAttribution(v.CoordinatorID, v.AttributedMentorID)
}

// checkFields pre-checks the editable fields alone (the duration's range,
// the input bounds): what Update can check before it reads the row's
// coordinator.
func checkFields(in NewProxyActivity) (activityRow, error) {
	minutes, err := proxyMinutes(in.DurationMinutes)
	if err != nil {
		return activityRow{}, err
	}
	if err := checkActivityInput(in.ActivityType, in.Date, in.DurationMinutes, in.Notes, time.Now()); err != nil {
		return activityRow{}, err
	}
	return activityRow{
		AttributedMentorID: in.AttributedMentorID,
		ActivityType:       in.ActivityType,
		Date:               proxyDate(in.Date),
		DurationMinutes:    minutes,
		Notes:              optString(in.Notes),
		IsRecurring:        in.IsRecurring,
		TemplateID:         optUUID(in.TemplateID),
	}, nil
}

// checkItem is checkActivity for an item of CreateMany or Import, which
// refuse a caller-generated ID: only Create takes one.
func checkItem(in NewProxyActivity) (activityRow, error) {
	if in.ID != uuid.Nil {
		return activityRow{}, &Error{Kind: ErrInvalidInput, Class: ErrInvalidInput,
			Message: fmt.Sprintf("item with id %s: only Create takes a caller-generated id", in.ID)}
	}
	return checkActivity(in)
}

// checkAttribution refuses an activity credited to its own coordinator
// (dual attribution: two people, never conflated).
func checkAttribution(coordinator, mentor uuid.UUID) error {
	if coordinator != mentor {
		return nil
	}
	return &Error{
		Kind:       ErrSelfAttribution,
		Class:      ErrCheck,
		Constraint: ConstraintProxyActivitiesNoSelfAttributionCheck,
		Code:       "23514",
		Message:    fmt.Sprintf("coordinator %s cannot be the attributed mentor", coordinator),
	}
}
