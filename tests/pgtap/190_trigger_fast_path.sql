-- The generated fast path: every badge of a table and event in one grouped pass,
-- plain conditions inline (no sub-SELECT per row), held badges skipped before the
-- award path, and the per-badge fallback never used when nothing fails. Function
-- call counts of the current transaction (track_functions) show which path ran.
BEGIN;
-- Awards found inside writes are applied at commit; these tests read them in the same
-- transaction, so apply them at the end of each statement instead.
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(78);

SET LOCAL track_functions = 'all';
CREATE FUNCTION pg_temp.calls(p regprocedure) RETURNS bigint LANGUAGE sql
    AS $$ SELECT coalesce(pg_catalog.pg_stat_get_xact_function_calls(p), 0) $$;

-- 1. Which conditions are plain expressions: conservative, lexical.
SELECT ok(gamification._condition_is_expression(c), 'plain expression: ' || c)
  FROM unnest(ARRAY['NEW.points >= 1000', 'hit_views > 1000', 'NEW.kind = ''login''',
                    'NEW.hit_views > OLD.hit_views AND NEW.hit_views >= 100', '(NEW.a + NEW.b) > 10',
                    'NEW.total::numeric > 9.5', 'true']) c;
SELECT ok(NOT gamification._condition_is_expression(c), 'keeps its sub-SELECT: ' || c)
  FROM unnest(ARRAY['count(*) >= 5 FROM posts WHERE author_id = NEW.author_id', 'lower(NEW.kind) = ''x''',
                    'count (*) > 0', 'NEW.x IN (1, 2)', 'EXISTS (SELECT 1)', 'NEW.x > 1 LIMIT 1',
                    'NEW.x > 1 -- note', 'NEW.x > 1 /* note */', 'NEW."from" > 1', 'NEW.kind = ''from''',
                    'NEW.a = $$x$$']) c;

-- 2. A table with every kind of rule for INSERT: counters, a counting condition,
--    plain conditions (one with an unqualified column), a condition reading another table.
CREATE TABLE public.play (id serial PRIMARY KEY, player int, kind text, score int NOT NULL DEFAULT 0);
CREATE TABLE public.vip (player int PRIMARY KEY);
INSERT INTO public.vip VALUES (1), (2);
SELECT gamification.badge_register('[
  {"code": "fp_plays", "name": "Plays", "target": 3, "counter": {"table": "play", "user_field": "player"}},
  {"code": "fp_wins", "name": "Wins", "target": 2, "counter": {"table": "play", "user_field": "player", "where": "kind = ''win''"}},
  {"code": "fp_highs", "name": "Highs", "target": 2, "condition": "NEW.score >= 50", "trigger_condition": "insert",
   "trigger_table": "play", "user_field": "player"},
  {"code": "fp_high", "name": "High", "points": 5, "condition": "NEW.score >= 90", "trigger_condition": "insert",
   "trigger_table": "play", "user_field": "player"},
  {"code": "fp_any", "name": "Any", "condition": "score > 0", "trigger_condition": "insert",
   "trigger_table": "play", "user_field": "player"},
  {"code": "fp_vip", "name": "VIP", "condition": "EXISTS (SELECT 1 FROM public.vip v WHERE v.player = NEW.player)",
   "trigger_condition": "insert", "trigger_table": "play", "user_field": "player"}]');

-- Conditions live in predicates (SQL-standard bodies): a plain one is a plain expression,
-- which the planner inlines into the trigger's query; the trigger calls it by name.
SELECT matches((SELECT pg_get_functiondef(oid) FROM pg_proc WHERE proname LIKE 'cond\_fp\_high\_%')
               || (SELECT prosrc FROM pg_proc WHERE proname LIKE 'trg\_play\_insert\_%'),
    'RETURN \(\(new\)\.score >= 90\).*gamification\.cond_fp_high_[0-9a-f]{8}\(new\) IS TRUE',
    'a plain condition is a plain expression (inlined by the planner), called by the trigger');
SELECT matches((SELECT pg_get_functiondef(oid) FROM pg_proc WHERE proname LIKE 'cond\_fp\_vip\_%'),
    'RETURN \(\s*SELECT \(?EXISTS', 'a condition that is not a plain expression keeps its sub-SELECT');
SELECT is((SELECT count(*) FROM regexp_matches((SELECT prosrc FROM pg_proc WHERE proname LIKE 'trg\_play\_insert\_%'),
                                                'FROM new_rows AS new WHERE new.player IS NOT NULL GROUP BY 1', 'g')),
    1::bigint, 'all six badges are evaluated in one pass over the inserted rows');

SELECT doesnt_match((SELECT prosrc FROM pg_proc WHERE proname LIKE 'trg\_play\_insert\_%'),
    'IS NOT NULL\n\s+AND \(', 'with a sub-SELECT among them, rows are not pre-filtered (it would run twice)');
CREATE TABLE public.clicks (id serial PRIMARY KEY, player int, kind text);
SELECT gamification.badge_register('[
  {"code": "pf_clicks", "name": "Clicks", "target": 5, "counter": {"table": "clicks", "user_field": "player", "where": "kind = ''click''"}},
  {"code": "pf_like", "name": "Like", "condition": "NEW.kind = ''like''", "trigger_condition": "insert",
   "trigger_table": "clicks", "user_field": "player"}]');
SELECT matches((SELECT prosrc FROM pg_proc WHERE proname LIKE 'trg\_clicks\_insert\_%'),
    'IS NOT NULL\s+AND \(gamification\.cond_pf_clicks_[0-9a-f]{8}\(new\) IS TRUE OR gamification\.cond_pf_like_[0-9a-f]{8}\(new\) IS TRUE\) GROUP BY',
    'with plain predicates only, rows meeting none are dropped before grouping');
INSERT INTO public.clicks (player, kind) SELECT 1 + g % 2, CASE WHEN g % 3 = 0 THEN 'like' ELSE 'click' END FROM generate_series(1, 30) g;
SELECT results_eq($$ SELECT user_id, code FROM gamification.user_badges WHERE code IN ('pf_clicks', 'pf_like') ORDER BY 1, 2 $$,
    $$ VALUES ('1', 'pf_clicks'), ('1', 'pf_like'), ('2', 'pf_clicks'), ('2', 'pf_like') $$, 'and award the same');

-- 3. A bulk insert: right awards, through the fast path only (calls counted from here:
--    registration itself awards through _grant()).
CREATE TEMP TABLE calls_before AS
SELECT pg_temp.calls('gamification._count(text, text[], bigint[])') AS count1,
       pg_temp.calls('gamification._grant(text, text[], text)') AS grant1,
       pg_temp.calls('gamification._count_many(text[], text[], bigint[])') AS count_many;
INSERT INTO public.play (player, kind, score)
SELECT 1 + g % 4, CASE WHEN g % 2 = 0 THEN 'win' ELSE 'loss' END, (g * 37) % 100
  FROM generate_series(1, 40) g;
INSERT INTO public.play (player, kind, score) VALUES (NULL, 'win', 99);
SELECT results_eq(
    $$ SELECT code, count(*) FROM gamification.user_badges WHERE code LIKE 'fp\_%' GROUP BY code ORDER BY code $$,
    $$ SELECT * FROM (VALUES ('fp_any', 4::bigint), ('fp_high', 2::bigint), ('fp_highs', 4::bigint),
                             ('fp_plays', 4::bigint), ('fp_vip', 2::bigint), ('fp_wins', 2::bigint)) v(code, n) $$,
    'a bulk insert awards exactly what its rows imply (rows with a NULL user skipped)');
SELECT is((SELECT progress FROM gamification.user_progress WHERE user_id = '1' AND code = 'fp_wins'), 10::bigint,
    'a counter with a where counts its rows');
SELECT is(pg_temp.calls('gamification._count(text, text[], bigint[])'), (SELECT count1 FROM calls_before),
    'no badge was evaluated on its own: the fast path did not fall back (counters)');
SELECT is(pg_temp.calls('gamification._grant(text, text[], text)'), (SELECT grant1 FROM calls_before),
    'no badge was evaluated on its own: the fast path did not fall back (conditions)');
SELECT is(pg_temp.calls('gamification._count_many(text[], text[], bigint[])'), (SELECT count_many FROM calls_before) + 1,
    'one _count_many() call for the bulk statement, none for the statement with no user');
SELECT is((SELECT count(*) FROM gamification.badge_error), 0::bigint, 'and nothing logged as broken');

-- 4. Held badges skip the award path.
CREATE TEMP TABLE grants_before AS SELECT pg_temp.calls('gamification._grant_many(text[], text[], text)') AS n;
INSERT INTO public.play (player, kind, score) VALUES (1, 'loss', 95);
SELECT is(pg_temp.calls('gamification._grant_many(text[], text[], text)'), (SELECT n FROM grants_before),
    'a holder meeting the conditions again does not enter the award path');
SELECT is((SELECT sum(points) FROM gamification.user_points WHERE user_id = '1'), 5::numeric, 'and is not paid again');
INSERT INTO public.play (player, kind, score) VALUES (7, 'loss', 95);
SELECT is(pg_temp.calls('gamification._grant_many(text[], text[], text)'), (SELECT n FROM grants_before) + 1,
    'a new user meeting them does, once');
SELECT bag_eq($$ SELECT code FROM gamification.user_badges WHERE user_id = '7' $$,
    ARRAY['fp_any', 'fp_high'], 'and gets the badges');

-- 5. update_of badges (row-level): a holder skips the award path too.
CREATE TABLE public.profile (player int PRIMARY KEY, level int NOT NULL DEFAULT 0);
INSERT INTO public.profile VALUES (1), (2);
SELECT gamification.badge_register('{"code": "fp_level", "name": "Level", "condition": "NEW.level >= 10",
    "trigger_condition": "update", "trigger_table": "profile", "user_field": "player", "update_of": ["level"]}');
SELECT matches((SELECT prosrc FROM pg_proc WHERE proname LIKE 'trg\_profile\_update\_of\_%'),
    'NOT EXISTS \(SELECT 1 FROM gamification\.award a', 'the row-level function checks whether the badge is held');
CREATE TEMP TABLE grant_calls AS SELECT pg_temp.calls('gamification._grant(text, text[], text)') AS n;
UPDATE public.profile SET level = 10 WHERE player = 1;
SELECT is(pg_temp.calls('gamification._grant(text, text[], text)'), (SELECT n FROM grant_calls) + 1, 'the first qualifying update awards');
UPDATE public.profile SET level = 11 WHERE player = 1;
SELECT is(pg_temp.calls('gamification._grant(text, text[], text)'), (SELECT n FROM grant_calls) + 1,
    'a later qualifying update by the holder does not call the award path');
SELECT is((SELECT count(*) FROM gamification.award WHERE badge_code = 'fp_level'), 1::bigint, 'one award');
SELECT matches((SELECT prosrc FROM pg_proc WHERE proname LIKE 'trg\_profile\_update\_of\_%'),
    'IF gamification\.cond_fp_level_[0-9a-f]{8}\(new\) IS TRUE THEN\n\s+IF NOT EXISTS',
    'a plain update_of condition is tested on its own, as a PL/pgSQL expression (no query)');
SELECT gamification.badge_register('[
  {"code": "fp_level_vip", "name": "VIP level", "condition": "EXISTS (SELECT 1 FROM public.vip v WHERE v.player = NEW.player)",
   "trigger_condition": "update", "trigger_table": "profile", "user_field": "player", "update_of": ["level"]},
  {"code": "fp_level_ups", "name": "Level ups", "condition": "NEW.level > OLD.level", "target": 3,
   "trigger_condition": "update", "trigger_table": "profile", "user_field": "player", "update_of": ["level"]}]');
SELECT matches((SELECT prosrc FROM pg_proc WHERE proname LIKE 'trg\_profile\_update\_of\_%'),
    'IF gamification\.cond_fp_level_vip_[0-9a-f]{8}\(new\) IS TRUE THEN', 'an update_of condition that is not a plain expression is its predicate too');
SELECT matches((SELECT prosrc FROM pg_proc WHERE proname LIKE 'trg\_profile\_update\_of\_%'),
    'IF gamification\.cond_fp_level_ups_[0-9a-f]{8}\(new, old\) IS TRUE THEN\n\s+PERFORM gamification\._count_many\(ARRAY\[''fp_level_ups''\], ARRAY\[pg_catalog\.concat\(NEW\.player\)\], ARRAY\[1\]::bigint\[\]\)',
    'a counting update_of condition stages its step (applied at commit, core/pending.sql)');
UPDATE public.profile SET level = level + 1 WHERE player = 2;
UPDATE public.profile SET level = level - 1 WHERE player = 2;
UPDATE public.profile SET level = level + 2 WHERE player = 2;
SELECT is((SELECT progress FROM gamification.progress WHERE user_id = '2' AND badge_code = 'fp_level_ups'), 2::bigint,
    'it counts the updates meeting the condition');
UPDATE public.profile SET level = level + 1 WHERE player = 2;
SELECT bag_eq($$ SELECT code FROM gamification.user_badges WHERE user_id = '2' AND code LIKE 'fp\_level%' $$, ARRAY['fp_level_vip', 'fp_level_ups'],
    'the counting badge is awarded at its target, the sub-SELECT condition at the first update');
SELECT is((SELECT count(*) FROM gamification.badge_error), 0::bigint, 'and no badge failed');
-- A user column named like a variable of the generated code: the column wins.
CREATE TABLE public.quirk (player int PRIMARY KEY, v_crossed int NOT NULL DEFAULT 1, level int NOT NULL DEFAULT 0);
INSERT INTO public.quirk (player) VALUES (1);
SELECT gamification.badge_register('{"code": "fp_quirk", "name": "Quirk", "target": 1, "trigger_condition": "update",
    "condition": "EXISTS (SELECT 1 FROM public.quirk q WHERE v_crossed > 0 AND q.player = NEW.player)",
    "trigger_table": "quirk", "user_field": "player", "update_of": ["level"]}');
UPDATE public.quirk SET level = 1;
SELECT is((SELECT count(*) FROM gamification.award WHERE badge_code = 'fp_quirk'), 1::bigint,
    'a condition naming a column v_crossed counts and awards');
SELECT is((SELECT count(*) FROM gamification.badge_error WHERE badge_code = 'fp_quirk'), 0::bigint, 'without an ambiguity error');

-- 6. Revoked and awarded again: the skip looks at what is held now.
SELECT gamification.badge_revoke(1, 'fp_high');
INSERT INTO public.play (player, kind, score) VALUES (1, 'loss', 91);
SELECT is((SELECT count(*) FROM gamification.award WHERE user_id = '1' AND badge_code = 'fp_high'), 1::bigint,
    'a revoked condition badge is awarded again by the next qualifying write');

-- 7. A one-row statement takes the path without aggregates: the same rows written one
--    at a time leave exactly what one bulk statement leaves.
CREATE TABLE public.play_one (LIKE public.play INCLUDING ALL);
CREATE TABLE public.play_bulk (LIKE public.play INCLUDING ALL);
SELECT gamification.badge_register(pg_catalog.jsonb_agg(d))
  FROM (SELECT jsonb_build_object('code', t || '_' || c, 'name', c, 'target', target,
                                  'counter', jsonb_build_object('table', t, 'user_field', 'player', 'where', w)) AS d
          FROM unnest(ARRAY['play_one', 'play_bulk']) t,
               (VALUES ('plays', 3, 'true'), ('wins', 2, 'kind = ''win''')) v(c, target, w)
        UNION ALL
        SELECT jsonb_build_object('code', t || '_' || c, 'name', c, 'condition', cond, 'trigger_condition', 'insert',
                                  'trigger_table', t, 'user_field', 'player') || coalesce(extra, '{}')
          FROM unnest(ARRAY['play_one', 'play_bulk']) t,
               (VALUES ('high', 'NEW.score >= 90', NULL::jsonb), ('highs', 'NEW.score >= 50', '{"target": 2}'),
                       ('vip', 'EXISTS (SELECT 1 FROM public.vip v WHERE v.player = NEW.player)', NULL)) v(c, cond, extra)) s;
SELECT matches((SELECT prosrc FROM pg_proc WHERE proname LIKE 'trg\_play\_one\_insert\_%'),
    'PERFORM gamification\._count_many\(v_codes, pg_catalog\.array_fill\(v_user',
    'a one-row statement stages a step for every counter it meets in one call');
SELECT matches((SELECT prosrc FROM pg_proc WHERE proname LIKE 'trg\_play\_one\_insert\_%'),
    'CASE WHEN gamification\.cond_play_one_high_[0-9a-f]{8}\(new\) IS TRUE THEN ''play_one_high'' END.*FROM pg_catalog\.unnest\(v_grant_codes\) AS c\(code\) WHERE NOT EXISTS',
    'and asks whether the user holds a condition badge only for the badges the row meets');
CREATE TEMP TABLE count_many_before AS SELECT pg_temp.calls('gamification._count_many(text[], text[], bigint[])') AS n;
DO $$
BEGIN
    FOR g IN 1..40 LOOP
        INSERT INTO public.play_one (player, kind, score)
        VALUES (1 + g % 4, CASE WHEN g % 2 = 0 THEN 'win' ELSE 'loss' END, (g * 37) % 100);
    END LOOP;
END
$$;
INSERT INTO public.play_bulk (player, kind, score)
SELECT 1 + g % 4, CASE WHEN g % 2 = 0 THEN 'win' ELSE 'loss' END, (g * 37) % 100 FROM generate_series(1, 40) g;
SELECT set_eq(
    $$ SELECT user_id, substr(badge_code, 10) FROM gamification.award WHERE badge_code LIKE 'play\_one\_%' $$,
    $$ SELECT user_id, substr(badge_code, 11) FROM gamification.award WHERE badge_code LIKE 'play\_bulk\_%' $$,
    'one-row statements award what one bulk statement awards');
SELECT set_eq(
    $$ SELECT user_id, substr(badge_code, 10), progress FROM gamification.progress WHERE badge_code LIKE 'play\_one\_%' $$,
    $$ SELECT user_id, substr(badge_code, 11), progress FROM gamification.progress WHERE badge_code LIKE 'play\_bulk\_%' $$,
    'and leave the same progress');
SELECT set_eq(
    $$ SELECT user_id, substr(badge_code, 10), action, points, source FROM gamification.award_history WHERE badge_code LIKE 'play\_one\_%' $$,
    $$ SELECT user_id, substr(badge_code, 11), action, points, source FROM gamification.award_history WHERE badge_code LIKE 'play\_bulk\_%' $$,
    'and the same award history (counters crossing their target: source progress)');
SELECT ok(pg_temp.calls('gamification._count_many(text[], text[], bigint[])') > (SELECT n FROM count_many_before) + 1,
    'the one-row statements stage each step they meet through _count_many(), the bulk statement once');
SELECT ok((SELECT count(*) FROM gamification.award WHERE badge_code LIKE 'play\_one\_%') >= 10, 'not vacuously');
-- A table with counters only gets no condition code in its one-row path (and the reverse).
CREATE TABLE public.taps (id serial PRIMARY KEY, player int);
CREATE TABLE public.wins (id serial PRIMARY KEY, player int, score int);
SELECT gamification.badge_register('[
  {"code": "tap_first", "name": "First tap", "target": 1, "counter": {"table": "taps", "user_field": "player"}},
  {"code": "win_big", "name": "Big win", "condition": "NEW.score > 10", "trigger_condition": "insert",
   "trigger_table": "wins", "user_field": "player"}]');
SELECT ok((SELECT prosrc FROM pg_proc WHERE proname LIKE 'trg\_taps\_insert\_%') !~ 'unnest\(v_grant_codes\)'
          AND (SELECT prosrc FROM pg_proc WHERE proname LIKE 'trg\_wins\_insert\_%') !~ '_count_many\(v_codes, pg_catalog\.array_fill',
    'a one-row path has no code for the kind of badge its table lacks');
SELECT ok((SELECT prosrc FROM pg_proc WHERE proname LIKE 'trg\_taps\_insert\_%') !~ 'ARRAY\[\]'
          AND (SELECT prosrc FROM pg_proc WHERE proname LIKE 'trg\_wins\_insert\_%') !~ 'ARRAY\[\]',
    'nor an empty CASE list evaluated on every row (NULL::text[] in its place)');
INSERT INTO public.taps (player) VALUES (5);
INSERT INTO public.wins (player, score) VALUES (5, 11);
SELECT bag_eq($$ SELECT code FROM gamification.user_badges WHERE user_id = '5' AND code IN ('tap_first', 'win_big') $$,
    ARRAY['tap_first', 'win_big'], 'and each still awards from a one-row statement');
SELECT is((SELECT count(*) FROM gamification.badge_error), 0::bigint, 'without a badge failing');

-- 8. _count_many() called once per (user, badge) pair leaves what one call with all the
--    pairs leaves (the fallback path of a one-row statement calls it with one pair).
SELECT gamification.badge_register('[{"code": "cm_one", "name": "One", "target": 2, "points": 5},
                                     {"code": "cm_many", "name": "Many", "target": 2, "points": 5}]');
SELECT is(gamification._count_many(ARRAY['cm_one'], ARRAY['u1'], ARRAY[1::bigint]), 0,
    'one pair below the target: nothing awarded');
SELECT is(gamification._count_many(ARRAY['cm_one'], ARRAY['u1'], ARRAY[1::bigint]), 1,
    'one pair crossing the target: awarded');
SELECT is(gamification._count_many(ARRAY['cm_one'], ARRAY['u1'], ARRAY[1::bigint]), 0,
    'one pair past the target: not awarded again');
SELECT is(gamification._count_many(ARRAY['cm_one'], ARRAY['u2'], ARRAY[7::bigint]), 1,
    'one step jumping over the target awards');
SELECT is(gamification._count_many(ARRAY['cm_one'], ARRAY[NULL::text], ARRAY[1::bigint])
          + gamification._count_many(ARRAY['cm_one'], ARRAY['u3'], ARRAY[0::bigint])
          + gamification._count_many(ARRAY['cm_one'], ARRAY['u3'], ARRAY[NULL::bigint]), 0,
    'a null user, a zero or null step: skipped');
SELECT is((SELECT count(*) FROM gamification.progress WHERE badge_code = 'cm_one' AND user_id = 'u3'), 0::bigint,
    'and no progress row written for them');
SELECT throws_ok($$ SELECT gamification._count_many(ARRAY['cm_nope'], ARRAY['u1'], ARRAY[1::bigint]) $$, '23503',
    NULL, 'one pair for an unknown badge fails like many pairs do (foreign key)');
-- The same steps through the set-based statement (two pairs per call, one padding user).
SELECT gamification._count_many(ARRAY['cm_many', 'cm_many'], ARRAY['u1', 'pad'], ARRAY[1::bigint, 1]) FROM generate_series(1, 3);
SELECT gamification._count_many(ARRAY['cm_many', 'cm_many'], ARRAY['u2', 'pad'], ARRAY[7::bigint, 1]);
SELECT set_eq(
    $$ SELECT user_id, progress FROM gamification.progress WHERE badge_code = 'cm_one' $$,
    $$ SELECT user_id, progress FROM gamification.progress WHERE badge_code = 'cm_many' AND user_id <> 'pad' $$,
    'one pair at a time leaves the progress many pairs leave');
SELECT set_eq(
    $$ SELECT user_id, action, points, source FROM gamification.award_history WHERE badge_code = 'cm_one' $$,
    $$ SELECT user_id, action, points, source FROM gamification.award_history WHERE badge_code = 'cm_many' AND user_id <> 'pad' $$,
    'and the same award history');
SELECT is((SELECT sum(amount) FROM gamification.points_ledger WHERE badge_code = 'cm_one'), 10::numeric,
    'and pays the badge points once per user');
SELECT is((SELECT count(*) FROM gamification.award WHERE badge_code = 'cm_one'), 2::bigint,
    'two users hold the badge');

-- 9. _grant_many() with one (user, badge) pair takes its single-row path: the same
--    writes as the set-based statement for many pairs.
SELECT gamification.badge_register('[{"code": "gm_one", "name": "One", "points": 7},
                                     {"code": "gm_many", "name": "Many", "points": 7},
                                     {"code": "gm_free", "name": "Free"},
                                     {"code": "gm_gone", "name": "Gone"}]');
SELECT gamification.badge_unregister('gm_gone');
SELECT is(gamification._grant_many(ARRAY['gm_one'], ARRAY['g1'], 'test'), 1, 'one pair: awarded');
SELECT is(gamification._grant_many(ARRAY['gm_one'], ARRAY['g1'], 'test'), 0, 'one pair held already: nothing');
SELECT is(gamification._grant_many(ARRAY['gm_one'], ARRAY[NULL::text], 'test')
          + gamification._grant_many(ARRAY['gm_nope'], ARRAY['g1'], 'test')
          + gamification._grant_many(ARRAY['gm_gone'], ARRAY['g1'], 'test'), 0,
    'a null user, an unknown or a retired badge: skipped, no error');
SELECT is(gamification._grant_many(ARRAY['gm_free'], ARRAY['g1'], 'test'), 1, 'a badge without points: awarded');
SELECT is((SELECT count(*) FROM gamification.points_ledger WHERE badge_code = 'gm_free'), 0::bigint,
    'and no ledger row for it');
SELECT gamification._grant_many(ARRAY['gm_one'], ARRAY['g2'], 'test');
-- The same awards through the set-based statement (two pairs per call, one padding user).
SELECT gamification._grant_many(ARRAY['gm_many', 'gm_many'], ARRAY['g1', 'gpad'], 'test');
SELECT gamification._grant_many(ARRAY['gm_many', 'gm_many'], ARRAY['g1', 'gpad'], 'test');
SELECT gamification._grant_many(ARRAY['gm_many', 'gm_many'], ARRAY['g2', 'gpad'], 'test');
SELECT set_eq(
    $$ SELECT user_id, action, points, source FROM gamification.award_history WHERE badge_code = 'gm_one' $$,
    $$ SELECT user_id, action, points, source FROM gamification.award_history WHERE badge_code = 'gm_many' AND user_id <> 'gpad' $$,
    'one pair at a time writes the award history many pairs write');
SELECT set_eq(
    $$ SELECT user_id, amount, reason FROM gamification.points_ledger WHERE badge_code = 'gm_one' $$,
    $$ SELECT user_id, amount, replace(reason, 'gm_many', 'gm_one') FROM gamification.points_ledger WHERE badge_code = 'gm_many' AND user_id <> 'gpad' $$,
    'and the same ledger rows');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = 'g2'), 14::bigint,
    'the totals follow: 7 points from each badge');
SELECT is((SELECT count(*) FROM gamification.award WHERE badge_code IN ('gm_one', 'gm_many') AND user_id <> 'gpad'), 4::bigint,
    'each user holds each badge once');

SELECT * FROM finish();
ROLLBACK;
