-- The scenario `gamification demo` runs on a throwaway server, through psql.
\pset footer off
\echo
\echo '== 1. Install the extension'
CREATE EXTENSION gamification;
SELECT extname, extversion, extnamespace::regnamespace AS schema
FROM pg_extension WHERE extname = 'gamification';
