-- Rollback of 20261207000000_precheck_errors: drops the pre-check function
-- (db's query before it did the check inline).
DROP FUNCTION private.assert_mentors_in_org(uuid, uuid[]);
