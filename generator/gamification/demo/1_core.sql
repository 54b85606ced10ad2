-- The scenario `gamification demo` runs on a throwaway server, through psql.
\pset footer off
\set QUIET on
\echo
\echo '== 1. Install the extension'
CREATE EXTENSION gamification;
SELECT extname, extversion, extnamespace::regnamespace AS schema
FROM pg_extension WHERE extname = 'gamification';

\echo '== 2. Register badges (one call, a JSON array) and an unlockable reward'
SELECT gamification.badge_register('[
  {"code": "first_post", "name": "First post", "points": 10, "category": "community"},
  {"code": "regular", "name": "Regular", "description": "Five posts", "points": 50,
   "category": "community", "target": 5, "next": "veteran"},
  {"code": "veteran", "name": "Veteran", "points": 200, "target": 50, "secret": true}
]');
SELECT gamification.unlockable_register('{"code": "dark_mode", "name": "Dark mode", "points_required": 60}');

\echo '== 3. Award by hand, twice: the second call changes nothing and pays nothing'
SELECT gamification.badge_award(42, 'first_post') AS first_call,
       gamification.badge_award(42, 'first_post') AS second_call;

\echo '== 4. Progress: user 42 posts five times; the fifth step awards "regular" and pays 50'
SELECT gamification.badge_progress(42, 'regular') AS progress FROM generate_series(1, 5);
SELECT * FROM gamification.user_progress;

\echo '== 5. Read the results from the documented views'
SELECT user_id, code, name, points, category FROM gamification.user_badges ORDER BY code;
SELECT * FROM gamification.user_points;
SELECT user_id, code, name FROM gamification.user_unlockables;

\echo '== 6. Revoke "regular": points drop below 60, so dark mode locks again'
SELECT gamification.badge_revoke(42, 'regular');
SELECT * FROM gamification.user_points;
SELECT count(*) AS unlockables_held FROM gamification.user_unlockables;

\echo '== 7. The append-only ledger behind the total'
SELECT user_id, amount, reason FROM gamification.points_history ORDER BY created_at;

\echo '== 8. Bad input gets a documented error that names the badge and the field'
\set ON_ERROR_STOP off
\set SHOW_CONTEXT never
SELECT gamification.badge_register('{"code": "oops", "name": "Oops", "target": -3}');
\echo 'SQLSTATE' :LAST_ERROR_SQLSTATE '(invalid_parameter_value); nothing was registered:'
\set ON_ERROR_STOP on
SELECT count(*) AS badges_named_oops FROM gamification.badges WHERE code = 'oops';
