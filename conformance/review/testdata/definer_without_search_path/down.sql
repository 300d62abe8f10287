DROP FUNCTION public.count_activities();
