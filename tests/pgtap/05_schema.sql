-- Schema of the gamification core: tables, views and their columns, public
-- functions, and that every function has a COMMENT and a fixed search_path.
BEGIN;
-- Awards found inside writes are applied at commit; these tests read them in the same
-- transaction, so apply them at the end of each statement instead.
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(47);

SELECT has_table('gamification', t, 'table gamification.' || t || ' exists')
  FROM unnest(ARRAY['category', 'badge', 'award', 'event', 'progress',
                    'points_total', 'unlockable', 'unlock', 'point_type', 'level']) AS t;

SELECT columns_are('gamification', 'badge',
    ARRAY['code', 'name', 'description', 'points', 'category', 'target', 'secret', 'next',
          'definition', 'created_at', 'updated_at', 'retired_at', 'point_type'], 'badge has the documented columns (point_type added in 0.3.0)');
SELECT columns_are('gamification', 'event',
    ARRAY['id', 'at', 'user_id', 'kind', 'subject', 'points', 'reason', 'data', 'txid', 'origin', 'point_type'], 'the event log has the documented columns (txid, origin and point_type added in 0.3.0)');
SELECT col_has_check('gamification', 'event', 'kind', 'the event kinds are checked');

SELECT has_view('gamification', v, 'view gamification.' || v || ' exists')
  FROM unnest(ARRAY['user_badges', 'user_points', 'user_progress', 'user_unlockables', 'badges',
                    'points_history', 'award_history', 'points_ledger',
                    'point_types', 'user_points_by_type', 'levels', 'user_levels']) AS v;

-- Views are a public contract: exact column names, in this order.
SELECT is(
    (SELECT array_agg(a.attname::text COLLATE "C" ORDER BY a.attnum) FROM pg_attribute a
        WHERE a.attrelid = 'gamification.user_badges'::regclass AND a.attnum > 0),
    ARRAY['user_id', 'code', 'name', 'points', 'category', 'awarded_at'],
    'user_badges columns, in order');
SELECT is(
    (SELECT array_agg(a.attname::text COLLATE "C" ORDER BY a.attnum) FROM pg_attribute a
        WHERE a.attrelid = 'gamification.user_points'::regclass AND a.attnum > 0),
    ARRAY['user_id', 'points'],
    'user_points columns, in order');
SELECT is(
    (SELECT array_agg(a.attname::text COLLATE "C" ORDER BY a.attnum) FROM pg_attribute a
        WHERE a.attrelid = 'gamification.user_progress'::regclass AND a.attnum > 0),
    ARRAY['user_id', 'code', 'progress', 'target'],
    'user_progress columns, in order');
SELECT is(
    (SELECT array_agg(a.attname::text COLLATE "C" ORDER BY a.attnum) FROM pg_attribute a
        WHERE a.attrelid = 'gamification.user_unlockables'::regclass AND a.attnum > 0),
    ARRAY['user_id', 'code', 'name', 'unlocked_at'],
    'user_unlockables columns, in order');
SELECT is(
    (SELECT array_agg(a.attname::text COLLATE "C" ORDER BY a.attnum) FROM pg_attribute a
        WHERE a.attrelid = 'gamification.badges'::regclass AND a.attnum > 0),
    ARRAY['code', 'name', 'description', 'points', 'category', 'target', 'secret', 'next'],
    'badges columns, in order');
SELECT is(
    (SELECT array_agg(a.attname::text COLLATE "C" ORDER BY a.attnum) FROM pg_attribute a
        WHERE a.attrelid = 'gamification.points_history'::regclass AND a.attnum > 0),
    ARRAY['user_id', 'amount', 'reason', 'badge', 'created_at', 'id'],
    'points_history columns, in order (id added at the end in 0.2.0)');

SELECT has_function('gamification', 'badge_register', ARRAY['jsonb'], 'badge_register(jsonb)');
SELECT has_function('gamification', 'category_register', ARRAY['jsonb'], 'category_register(jsonb)');
SELECT has_function('gamification', 'category_delete', ARRAY['text'], 'category_delete(text)');
SELECT has_function('gamification', 'unlockable_register', ARRAY['jsonb'], 'unlockable_register(jsonb)');
SELECT has_function('gamification', 'badge_award', ARRAY['anyelement', 'text'], 'badge_award(anyelement, text)');
SELECT has_function('gamification', 'badge_revoke', ARRAY['anyelement', 'text'], 'badge_revoke(anyelement, text)');
SELECT has_function('gamification', 'badge_progress', ARRAY['anyelement', 'text', 'bigint'], 'badge_progress(anyelement, text, bigint)');
SELECT has_function('gamification', 'award_points', ARRAY['anyelement', 'bigint', 'text'], 'award_points(anyelement, bigint, text)');
SELECT has_function('gamification', 'reset', ARRAY['anyelement'], 'reset(anyelement)');
SELECT has_function('gamification', 'badges_for', ARRAY['anyelement'], 'badges_for(anyelement)');
SELECT has_function('gamification', '_grant', ARRAY['text', 'text[]', 'text'], '_grant(text, text[], text)');
SELECT has_function('gamification', '_revoke', ARRAY['text', 'text[]', 'text'], '_revoke(text, text[], text)');

SELECT is(
    (SELECT array_agg(p.oid::regprocedure::text ORDER BY p.oid::regprocedure::text) FROM pg_proc p
      WHERE p.pronamespace = 'gamification'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL),
    NULL, 'every function in schema gamification has a COMMENT');
SELECT is(
    (SELECT array_agg(p.oid::regprocedure::text ORDER BY p.oid::regprocedure::text) FROM pg_proc p
      WHERE p.pronamespace = 'gamification'::regnamespace
        AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)
        -- These read the caller's search_path on purpose: it is pinned into trigger badges.
        -- _crosses() has a SQL-standard body (resolved when created) and no SET clause, so it is
        -- inlined; so have _level_at() and the leaderboards' _leaderboard_period*(), _leaderboard_ranked*()
        -- and _leaderboard_bucket*().
        AND p.oid::regprocedure::text NOT IN ('gamification._crosses(bigint,bigint,bigint)',
                                              'gamification._unlocks_reached(text,text,bigint,text[])',
                                              'gamification._level_at(text,bigint)',
                                              'gamification._leaderboard_period(text,text,text,timestamp with time zone)',
                                              'gamification._leaderboard_period_end(text,text,timestamp with time zone)',
                                              'gamification._leaderboard_ranked(text,text,timestamp with time zone)',
                                              'gamification._leaderboard_ranked_above(text,timestamp with time zone,bigint)',
                                              'gamification._leaderboard_bucket(bigint)',
                                              'gamification._leaderboard_bucket_last(integer)',
                                              'gamification._caller_search_path()', 'gamification.badge_register(jsonb)',
                                              'gamification.badge_preview(jsonb)', 'gamification.badge_sync(jsonb,boolean,boolean)')),
    NULL, 'every function in schema gamification sets search_path = pg_catalog, pg_temp (but the caller-path wrappers)');
SELECT is(
    (SELECT array_agg(p.oid::regprocedure::text ORDER BY p.oid::regprocedure::text) FROM pg_proc p
      WHERE p.pronamespace = 'gamification'::regnamespace AND p.prosecdef),
    ARRAY['gamification._apply_at_commit()', 'gamification._badge_preview(jsonb,text,name)', 'gamification._badge_register(jsonb,text,name)',
          'gamification._badge_sync(jsonb,boolean,boolean,text,name)', 'gamification._badge_unregister(text,boolean,name)',
          'gamification._data_reset(name)',
          'gamification._ddl_after()', 'gamification._ddl_before()', 'gamification._ddl_drop()',
          'gamification._totals_rebuild(name)',
          'gamification.award_points(anyelement,bigint,text)', 'gamification.award_points(anyelement,bigint,text,text)',
          'gamification.award_points(text,bigint,text)', 'gamification.award_points(text,bigint,text,text)',
          'gamification.badge_award(anyelement,text)', 'gamification.badge_award(text,text)',
          'gamification.badge_progress(anyelement,text,bigint)', 'gamification.badge_progress(text,text,bigint)',
          'gamification.badge_revoke(anyelement,text)', 'gamification.badge_revoke(text,text)',
          'gamification.category_delete(text)', 'gamification.category_register(jsonb)',
          'gamification.consumer_register(text,boolean,boolean)', 'gamification.consumer_unregister(text)', 'gamification.events_ack(text,xid8,bigint)', 'gamification.events_fetch(text,integer)',
          'gamification.events_prune(interval,bigint)', 'gamification.events_rebase()', 'gamification.history_import(jsonb)',
          'gamification.leaderboard_compact()', 'gamification.leaderboard_exclude(text,anyelement,boolean)', 'gamification.leaderboard_exclude(text,text,boolean)',
          'gamification.leaderboard_periods(text)',
          'gamification.leaderboard_rank(text,anyelement,integer,timestamp with time zone)',
          'gamification.leaderboard_rank(text,text,integer,timestamp with time zone)',
          'gamification.leaderboard_register(jsonb)', 'gamification.leaderboard_top(text,integer,integer,timestamp with time zone)',
          'gamification.leaderboard_unregister(text)', 'gamification.leaderboard_verify(boolean,timestamp with time zone)',
          'gamification.level_register(jsonb)', 'gamification.level_unregister(text,integer)',
          'gamification.pending_apply()', 'gamification.point_type_register(jsonb)', 'gamification.reset(anyelement)', 'gamification.reset(text)', 'gamification.row_security(boolean)',
          'gamification.triggers_sync()', 'gamification.unlockable_register(jsonb)',
          'gamification.user_erase(text)'],
    'exactly the operator entry points, the definition writers (which check their caller), the event triggers'' functions and row_security are SECURITY DEFINER');
SELECT is(
    (SELECT array_agg(c.relname::text COLLATE "C" ORDER BY c.relname::text COLLATE "C") FROM pg_extension e, unnest(e.extconfig) AS x(oid)
       JOIN pg_class c ON c.oid = x.oid WHERE e.extname = 'gamification'),
    ARRAY['award', 'badge', 'badge_rule', 'category', 'consumer', 'event', 'event_id_seq', 'leaderboard',
          'leaderboard_count', 'leaderboard_exclusion', 'leaderboard_score', 'level', 'pending_queue',
          'pending_queue_id_seq', 'point_type', 'points_total', 'progress', 'unlock', 'unlockable'],
    'definitions, user data, totals, queued steps and consumers'' cursors are dumped by pg_dump');

SELECT * FROM finish();
ROLLBACK;
