// The npm package trakt.tv (unmodified) against WatchMe's Trakt-compatible
// API. Usage: node trakt_tv_walk.js BASE_URL (no trailing slash). It signs in
// with the device flow (the driving test approves the code it prints),
// walks history, ratings, watchlist, lists, scrobbling, check-in and last
// activities checking every answer, refreshes its token, then revokes it.
// Exits non-zero on the first wrong answer.
'use strict';

const assert = require('assert/strict');
const Trakt = require('trakt.tv');

const base = process.argv[2];
const trakt = new Trakt({ client_id: 'trakt-tv-walk', client_secret: 'unused', api_url: base });

function step(name) {
  console.log(`STEP ${name}`);
}

const tmdbIds = (list) => list.map((i) => i.movie.ids.tmdb).sort((a, b) => a - b);

async function status(promise) {
  try {
    await promise;
    return 200;
  } catch (e) {
    return e.response ? e.response.statusCode : -1;
  }
}

async function main() {
  step('device flow');
  const codes = await trakt.get_codes();
  assert.ok(codes.device_code && codes.verification_url.endsWith('/activate'), JSON.stringify(codes));
  console.log(`USER_CODE ${codes.user_code}`);
  const tokens = await trakt.poll_access(codes);
  assert.equal(tokens.token_type, 'bearer');
  assert.ok(tokens.refresh_token);

  step('add plays: one repeated, one unknown, one by IMDb id');
  const at = '2023-05-01T18:30:00.000Z';
  let res = await trakt.sync.history.add({
    movies: [
      { ids: { tmdb: 13 }, watched_at: at },
      { ids: { tmdb: 13 }, watched_at: at },
      { ids: { trakt: 999999999 } },
      { ids: { imdb: 'tt0468569' }, watched_at: 'released' },
      { title: 'Pulp Fiction', year: 1994 },
    ],
    shows: [{ ids: { tvdb: 81189 } }],
  });
  assert.equal(res.added.movies, 3, JSON.stringify(res));
  assert.deepEqual(res.not_found.movies, [{ ids: { trakt: 999999999 } }]);
  assert.deepEqual(res.not_found.shows, [{ ids: { tvdb: 81189 } }], 'shows are not tracked');

  step('remove one');
  res = await trakt.sync.history.remove({ movies: [{ ids: { tmdb: 680 } }] });
  assert.equal(res.deleted.movies, 1, JSON.stringify(res));

  step('read history back, paged');
  const page = await trakt.sync.history.get({ type: 'movies', limit: 1, pagination: true });
  assert.equal(page.data.length, 1);
  assert.equal(page.pagination['item-count'], '2');
  assert.equal(page.pagination['page-count'], '2');
  const all = await trakt.sync.history.get({ type: 'movies' });
  assert.deepEqual(tmdbIds(all), [13, 155]);
  const released = all.find((h) => h.movie.ids.tmdb === 155);
  assert.equal(released.watched_at, '2008-07-16T00:00:00.000Z', 'watched_at "released" is the release date');
  const window = await trakt.sync.history.get({ type: 'movies', start_at: '2023-01-01T00:00:00.000Z', end_at: '2023-12-31T00:00:00.000Z' });
  assert.deepEqual(tmdbIds(window), [13]);

  step('rate, then read ratings back');
  res = await trakt.sync.ratings.add({ movies: [{ ids: { tmdb: 13 }, rating: 8 }, { ids: { tmdb: 155 }, rating: 10 }] });
  assert.equal(res.added.movies, 2, JSON.stringify(res));
  const tens = await trakt.sync.ratings.get({ type: 'movies', rating: 10 });
  assert.deepEqual(tens.map((r) => [r.movie.ids.tmdb, r.rating]), [[155, 10]]);
  res = await trakt.sync.ratings.remove({ movies: [{ ids: { tmdb: 155 } }] });
  assert.equal(res.deleted.movies, 1);

  step('watchlist');
  res = await trakt.sync.watchlist.add({ movies: [{ ids: { tmdb: 278 } }, { ids: { tmdb: 278 } }] });
  assert.equal(res.added.movies, 1, JSON.stringify(res));
  assert.equal(res.existing.movies, 1);
  const wl = await trakt.sync.watchlist.get({ type: 'movies' });
  assert.deepEqual(tmdbIds(wl), [278]);
  res = await trakt.sync.watchlist.remove({ movies: [{ ids: { tmdb: 278 } }] });
  assert.equal(res.deleted.movies, 1);
  assert.deepEqual(await trakt.sync.watchlist.get({ type: 'movies' }), []);

  step('a list with items');
  const created = await trakt.users.lists.create({ username: 'me', name: 'Node picks', privacy: 'private' });
  assert.equal(created.ids.slug, 'node-picks');
  res = await trakt.users.list.items.add({ username: 'me', id: created.ids.slug, movies: [{ ids: { tmdb: 13 } }, { ids: { imdb: 'tt0468569' } }, { ids: { tmdb: 999999999 } }] });
  assert.equal(res.added.movies, 2, JSON.stringify(res));
  assert.equal(res.not_found.movies.length, 1);
  assert.equal(res.list.item_count, 2);
  const items = await trakt.users.list.items.get({ username: 'me', id: created.ids.slug, type: 'movies' });
  assert.deepEqual(items.map((i) => [i.rank, i.movie.ids.tmdb]), [[1, 13], [2, 155]]);
  const renamed = await trakt.users.list.update({ username: 'me', id: created.ids.trakt, name: 'Node favourites', description: 'two' });
  assert.equal(renamed.name, 'Node favourites');
  res = await trakt.users.list.items.remove({ username: 'me', id: created.ids.trakt, movies: [{ ids: { tmdb: 13 } }] });
  assert.equal(res.deleted.movies, 1);
  const lists = await trakt.users.lists.get({ username: 'me' });
  assert.deepEqual(lists.map((l) => [l.name, l.item_count]), [['Node favourites', 1]]);

  step('scrobble start, then stop past the threshold');
  res = await trakt.scrobble.start({ movie: { ids: { tmdb: 238 } }, progress: 5 });
  assert.equal(res.action, 'start');
  const watching = await trakt.users.watching({ username: 'me' });
  assert.equal(watching.movie.ids.tmdb, 238);
  res = await trakt.scrobble.pause({ movie: { ids: { tmdb: 238 } }, progress: 40 });
  assert.equal(res.action, 'pause');
  const paused = await trakt.sync.playback.get({ type: 'movies' });
  assert.deepEqual(paused.map((p) => [p.movie.ids.tmdb, p.progress]), [[238, 40]]);
  res = await trakt.scrobble.stop({ movie: { ids: { tmdb: 238 } }, progress: 85 });
  assert.equal(res.action, 'scrobble');
  assert.equal(await status(trakt.scrobble.stop({ movie: { ids: { tmdb: 238 } }, progress: 90 })), 409);
  assert.deepEqual(await trakt.sync.playback.get({ type: 'movies' }), [], 'the play ends the paused playback');

  step('check in and out');
  res = await trakt.checkin.add({ movie: { ids: { tmdb: 424 } } });
  assert.equal(res.movie.ids.tmdb, 424);
  assert.equal(await status(trakt.checkin.add({ movie: { ids: { tmdb: 13 } } })), 409);
  await trakt.checkin.delete();

  step('watched and last activities');
  const watched = await trakt.sync.watched({ type: 'movies' });
  assert.deepEqual(tmdbIds(watched), [13, 155, 238, 424]);
  const acts = await trakt.sync.last_activities();
  for (const key of ['all', 'movies', 'episodes', 'shows', 'seasons', 'comments', 'lists', 'watchlist', 'favorites', 'account']) {
    assert.ok(key in acts, key);
  }
  assert.ok(acts.movies.watched_at > '2000' && acts.movies.rated_at > '2000' && acts.movies.watchlisted_at > '2000');

  step('movies and search');
  const summary = await trakt.movies.summary({ id: 'the-dark-knight-2008', extended: 'full' });
  assert.equal(summary.ids.imdb, 'tt0468569');
  assert.equal(summary.runtime, 152);
  const popular = await trakt.movies.popular({ limit: 3, pagination: true });
  assert.equal(popular.data.length, 3);
  const found = await trakt.search.text({ type: 'movie', query: 'dark knight' });
  assert.ok(found.some((r) => r.type === 'movie' && r.movie.ids.tmdb === 155));
  const byId = await trakt.search.id({ id_type: 'tmdb', id: 155, type: 'movie' });
  assert.equal(byId[0].movie.ids.slug, 'the-dark-knight-2008');

  step('refresh, then revoke');
  const before = trakt.export_token().access_token;
  await trakt.refresh_token();
  const after = trakt.export_token().access_token;
  assert.notEqual(after, before);
  assert.ok((await trakt.users.settings()).user.username);
  trakt.revoke_token();
  const probe = new Trakt({ client_id: 'trakt-tv-walk', client_secret: 'unused', api_url: base });
  await probe.import_token({ access_token: after, refresh_token: 'x', expires: Date.now() + 600000 });
  const deadline = Date.now() + 10000;
  let code = 200;
  while (code !== 401 && Date.now() < deadline) {
    code = await status(probe.users.settings());
    if (code !== 401) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(code, 401, 'a revoked token is refused');
  console.log('TRAKT.TV OK');
}

main().catch((e) => {
  console.error(e && e.response ? `${e.message}: ${e.response.body}` : e);
  process.exit(1);
});
