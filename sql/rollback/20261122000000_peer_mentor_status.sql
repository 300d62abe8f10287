-- Rollback of 20261122000000_peer_mentor_status: removes exactly what it
-- created. The log goes first (it references the status table); dropping the
-- tables drops their triggers, so the immutability triggers never fire.
DROP TABLE public.peer_mentor_status_log;
DROP TABLE public.peer_mentor_status;
DROP FUNCTION private.peer_mentor_status_log_immutable();
DROP FUNCTION private.peer_mentor_status_log_guard();
DROP FUNCTION private.peer_mentor_status_log_change();
DROP FUNCTION private.peer_mentor_status_reject_no_change();
DROP FUNCTION private.peer_mentor_status_set_bookkeeping();
