-- Rollback of 20261120000000_foundation: removes exactly what it created.
DROP TABLE public.chapter_members;
DROP TABLE public.org_members;
DROP TABLE public.chapters;
DROP TABLE public.organizations;
DROP FUNCTION private.has_org_role(uuid, uuid, text);
DROP FUNCTION private.org_ids_with_role(text[]);
DROP SCHEMA private;
