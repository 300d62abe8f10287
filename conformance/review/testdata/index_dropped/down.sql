CREATE INDEX proxy_activities_date_idx ON public.proxy_activities USING btree (date DESC);
