-- Categories: register, update in place, delete without touching badges or awards, errors.
BEGIN;
-- Awards found inside writes are applied at commit; these tests read them in the same
-- transaction, so apply them at the end of each statement instead.
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(17);

SELECT results_eq($$ SELECT * FROM gamification.category_register('[{"code": "social", "name": "Social"}, {"code": "quests"}]') $$,
    $$ VALUES ('social'::text), ('quests') $$, 'category_register returns the codes registered, in order');
SELECT is((SELECT name FROM gamification.category WHERE code = 'quests'), 'quests', 'name defaults to the code');
SELECT results_eq($$ SELECT * FROM gamification.category_register('{"code": "social", "name": "Social life", "description": "Talking"}') $$,
    $$ VALUES ('social'::text) $$, 'one object is accepted');
SELECT row_eq($$ SELECT name, description FROM gamification.category WHERE code = 'social' $$,
    ROW('Social life'::text, 'Talking'::text), 're-registering updates in place');
SELECT is((SELECT count(*) FROM gamification.category), 2::bigint, 'no duplicate rows');

-- Deleting a category keeps its badges and their awards.
SELECT gamification.badge_register('{"code": "chatty", "name": "Chatty", "category": "social", "points": 5}');
SELECT gamification.badge_award('u1', 'chatty');
SELECT ok(gamification.category_delete('social'), 'category_delete returns true when it existed');
SELECT ok(NOT gamification.category_delete('social'), 'category_delete returns false the second time (idempotent)');
SELECT is((SELECT category FROM gamification.badge WHERE code = 'chatty'), NULL, 'the badge stays, its category becomes NULL');
SELECT is((SELECT count(*) FROM gamification.award WHERE badge_code = 'chatty'), 1::bigint, 'the award stays');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = 'u1'), 5::bigint, 'the points stay');

-- Errors change nothing.
SELECT throws_ok($$ SELECT gamification.category_register(NULL) $$, '22004',
    'gamification.category_register(): definitions must not be null', 'null definitions');
SELECT throws_ok($$ SELECT gamification.category_register('[{"code": "a"}, {"name": "B"}]') $$, '22023',
    'category #2: field "code" is required', 'missing code names the array index');
SELECT throws_ok($$ SELECT gamification.category_register('{"code": "a", "titel": "A"}') $$, '22023',
    'category "a": unknown field "titel"', 'unknown field');
SELECT throws_ok($$ SELECT gamification.category_register('[{"code": "a"}, {"code": "a"}]') $$, '42710',
    'category "a": code appears more than once in this call (item #2)', 'duplicate code in one call');
SELECT throws_ok($$ SELECT gamification.category_register('{"code": "has space"}') $$, '22023',
    'category "has space": field "code" must be a code of 1 to 63 letters, digits, "_", ".", ":" or "-", got "has space"', 'bad code');
SELECT throws_ok($$ SELECT gamification.category_delete(NULL) $$, '22004',
    'gamification.category_delete(): category code must not be null', 'null code');
SELECT is((SELECT array_agg(code ORDER BY code) FROM gamification.category), ARRAY['quests'], 'failed calls wrote nothing');

SELECT * FROM finish();
ROLLBACK;
