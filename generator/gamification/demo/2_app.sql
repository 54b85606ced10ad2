-- The host application's own tables: the extension never owns a users table.
\set QUIET on
\echo
\echo '== 9. An application database: its users and their sketches (the django-pg-badges demo app)'
CREATE EXTENSION gamification;
CREATE TABLE auth_user (id serial PRIMARY KEY, username text NOT NULL, date_joined timestamptz NOT NULL DEFAULT now());
CREATE TABLE dummy_sketch (id serial PRIMARY KEY, user_id int REFERENCES auth_user, hit_views int NOT NULL DEFAULT 0);
INSERT INTO auth_user (username, date_joined) VALUES
    ('ada', now() - interval '3 years'), ('bob', now() - interval '2 months'), ('cy', now() - interval '5 days');
SELECT * FROM auth_user ORDER BY id;
\echo
\echo '== 10. Register badge.json (the django-pg-badges format) with the CLI:'
\echo '       gamification register badge.json --dsn ...'
