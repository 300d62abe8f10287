DROP TABLE public.mentor_notes;
