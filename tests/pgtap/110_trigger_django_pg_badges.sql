-- The django-pg-badges badge.json format, accepted verbatim: the README's
-- Pionner, Collector and Star badges on auth_user and dummy_sketch.
BEGIN;
-- Awards found inside writes are applied at commit; these tests read them in the same
-- transaction, so apply them at the end of each statement instead.
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(22);

CREATE TABLE public.auth_user (id serial PRIMARY KEY, username text, date_joined timestamptz);
CREATE TABLE public.dummy_sketch (id serial PRIMARY KEY, user_id int, hit_views int DEFAULT 0);

SELECT results_eq(
    $$ SELECT * FROM gamification.badge_register('[
      {"name": "Pionner", "code": "pionner", "condition": "NEW.date_joined < now() - interval ''1 year''",
       "trigger_condition": "update", "trigger_table": "auth_user", "user_field": "id"},
      {"name": "Collector", "code": "collector", "condition": "count(id) >= 5 from dummy_sketch where user_id = NEW.user_id",
       "trigger_condition": "insert", "trigger_table": "dummy_sketch", "user_field": "user_id"},
      {"name": "Star", "code": "star", "condition": "NEW.hit_views >= 1000",
       "trigger_condition": "update", "trigger_table": "dummy_sketch", "user_field": "user_id"}
    ]') $$,
    ARRAY['pionner', 'collector', 'star'], 'the three README badges register verbatim');

SELECT results_eq($$ SELECT code, name FROM gamification.badges ORDER BY code $$,
    $$ VALUES ('collector'::text, 'Collector'::text), ('pionner', 'Pionner'), ('star', 'Star') $$,
    'they are in the catalogue with their names');
SELECT has_trigger('public', 'auth_user', 'gamification_on_update', 'Pionner: update trigger on auth_user');
SELECT has_trigger('public', 'dummy_sketch', 'gamification_on_insert', 'Collector: insert trigger on dummy_sketch');
SELECT has_trigger('public', 'dummy_sketch', 'gamification_on_update', 'Star: update trigger on dummy_sketch');
SELECT hasnt_trigger('public', 'auth_user', 'gamification_on_insert', 'no insert trigger on auth_user');
SELECT results_eq(
    $$ SELECT code, kind, lower(event), installed, broken FROM gamification.badge_status
        WHERE code IN ('pionner', 'collector', 'star') ORDER BY code $$,
    $$ VALUES ('collector'::text, 'condition'::text, 'insert'::text, true, NULL::text),
              ('pionner', 'condition', 'update', true, NULL),
              ('star', 'condition', 'update', true, NULL) $$,
    'badge_status shows the three healthy and installed');

-- Pionner: an update of a user who joined more than a year ago.
INSERT INTO public.auth_user (id, username, date_joined) VALUES
    (1, 'old', now() - interval '2 years'),
    (2, 'new', now() - interval '1 month'),
    (3, 'older', now() - interval '5 years');
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'pionner'), 0::bigint,
    'Pionner is an update badge: inserting users awards nothing');
UPDATE public.auth_user SET username = username || '!';
SELECT is((SELECT array_agg(user_id ORDER BY user_id) FROM gamification.user_badges WHERE code = 'pionner'),
    ARRAY['1', '3'], 'Pionner: one UPDATE awards every user who joined more than a year ago, the user being NEW.id');

-- Collector: the fifth sketch of a user.
INSERT INTO public.dummy_sketch (user_id) VALUES (1), (1), (1), (1);
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'collector'), 0::bigint,
    'Collector: four sketches are not enough');
INSERT INTO public.dummy_sketch (user_id) VALUES (1);
SELECT is((SELECT array_agg(user_id) FROM gamification.user_badges WHERE code = 'collector'), ARRAY['1'],
    'Collector: the fifth sketch awards (the condition counts the table including the new row)');
INSERT INTO public.dummy_sketch (user_id) SELECT 2 FROM generate_series(1, 5);
SELECT is((SELECT array_agg(user_id ORDER BY user_id) FROM gamification.user_badges WHERE code = 'collector'), ARRAY['1', '2'],
    'Collector: five sketches in one statement award');
INSERT INTO public.dummy_sketch (user_id) VALUES (1);
SELECT is((SELECT count(*) FROM gamification.award_history WHERE badge_code = 'collector' AND user_id = '1'), 1::bigint,
    'Collector: a sixth sketch awards nothing more');

-- Star: hit_views reaching 1000 on update.
INSERT INTO public.dummy_sketch (user_id, hit_views) VALUES (3, 5000);
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'star'), 0::bigint,
    'Star is an update badge: an insert with 5000 views awards nothing');
UPDATE public.dummy_sketch SET hit_views = 999 WHERE user_id = 2;
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'star'), 0::bigint, 'Star: 999 views are not enough');
UPDATE public.dummy_sketch SET hit_views = 1000 WHERE id = (SELECT min(id) FROM public.dummy_sketch WHERE user_id = 2);
SELECT is((SELECT array_agg(user_id) FROM gamification.user_badges WHERE code = 'star'), ARRAY['2'],
    'Star: 1000 views award');
UPDATE public.dummy_sketch SET hit_views = hit_views + 1;
SELECT is((SELECT array_agg(user_id ORDER BY user_id) FROM gamification.user_badges WHERE code = 'star'), ARRAY['2', '3'],
    'Star: a multi-row update awards every qualifying user');
SELECT is((SELECT count(*) FROM gamification.award_history WHERE badge_code = 'star' AND user_id = '2'), 1::bigint,
    'Star: a user who already holds it is not awarded again');

-- A user holding one badge still gets the others (django-pg-badges checked "code=code").
SELECT is((SELECT array_agg(code ORDER BY code) FROM gamification.user_badges WHERE user_id = '1'),
    ARRAY['collector', 'pionner'], 'user 1 holds Pionner and Collector');
SELECT is((SELECT array_agg(code ORDER BY code) FROM gamification.user_badges WHERE user_id = '3'),
    ARRAY['pionner', 'star'], 'user 3 holds Pionner and Star');

-- Awards roll back with the write.
SAVEPOINT before_write;
UPDATE public.auth_user SET date_joined = now() - interval '3 years', username = 'x' WHERE id = 2;
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'pionner' AND user_id = '2'), 1::bigint,
    'user 2 is awarded Pionner inside the transaction of the write');
ROLLBACK TO SAVEPOINT before_write;
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'pionner' AND user_id = '2'), 0::bigint,
    'rolling the write back rolls the award back');

SELECT * FROM finish();
ROLLBACK;
