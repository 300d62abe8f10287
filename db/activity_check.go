package db

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// activityRow is an activity's editable fields as the database takes them,
// after the one validation path every activity write goes through
// (checkActivity): Create, CreateMany, Import and Update.
type activityRow struct {
	mentor       uuid.UUID
	activityType string
	date         time.Time
	minutes      int32
	notes        *string
	isRecurring  bool
	template     *uuid.UUID
}

// fields are the editable fields of a new activity.
func (in NewProxyActivity) fields() ProxyActivityChange {
	return ProxyActivityChange{
		AttributedMentorID: in.AttributedMentorID,
		ActivityType:       in.ActivityType,
		Date:               in.Date,
		DurationMinutes:    in.DurationMinutes,
		Notes:              in.Notes,
		IsRecurring:        in.IsRecurring,
		TemplateID:         in.TemplateID,
	}
}

// checkActivity pre-checks what coordinator writes (checkFields, then
// self-attribution) and converts it for the database; the database enforces
// each again.
func checkActivity(coordinator uuid.UUID, f ProxyActivityChange) (activityRow, error) {
	v, err := checkFields(f)
	if err != nil {
		return activityRow{}, err
	}
	return v, checkAttribution(coordinator, v.mentor)
}

// checkFields pre-checks the fields alone (the duration's range, the input
// bounds): what Update can check before it reads the row's coordinator.
func checkFields(f ProxyActivityChange) (activityRow, error) {
	minutes, err := proxyMinutes(f.DurationMinutes)
	if err != nil {
		return activityRow{}, err
	}
	if err := checkActivityInput(f.ActivityType, f.Date, f.DurationMinutes, f.Notes, time.Now()); err != nil {
		return activityRow{}, err
	}
	return activityRow{
		mentor:       f.AttributedMentorID,
		activityType: f.ActivityType,
		date:         proxyDate(f.Date),
		minutes:      minutes,
		notes:        optString(f.Notes),
		isRecurring:  f.IsRecurring,
		template:     optUUID(f.TemplateID),
	}, nil
}

// checkItem is checkActivity for an item of CreateMany or Import, which
// refuse a caller-generated ID: only Create takes one.
func checkItem(coordinator uuid.UUID, in NewProxyActivity) (activityRow, error) {
	if in.ID != uuid.Nil {
		return activityRow{}, &Error{Kind: ErrInvalidInput, Class: ErrInvalidInput,
			Message: fmt.Sprintf("item with id %s: only Create takes a caller-generated id", in.ID)}
	}
	return checkActivity(coordinator, in.fields())
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
