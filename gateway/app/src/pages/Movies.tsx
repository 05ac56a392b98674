// The movie catalog with a title search; admins add and edit movies here.

import { useEffect, useState } from 'preact/hooks';
import { gql } from '../api';
import { CREATE_MOVIE, MOVIES, UPDATE_MOVIE, type Movie } from '../queries';
import { navigate } from '../router';
import { hasRole } from '../session';
import { ErrorMessage, Loading, Page, useLoad } from '../ui';

function MovieForm({ movie, onSaved, onCancel }: { movie?: Movie; onSaved: (m: Movie) => void; onCancel?: () => void }) {
  const [title, setTitle] = useState(movie?.title ?? '');
  const [description, setDescription] = useState(movie?.description ?? '');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const prefix = movie ? `movie-${movie.id}` : 'new-movie';

  async function submit(event: Event) {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const input = { title, description };
      const saved = movie
        ? (await gql(UPDATE_MOVIE, { id: movie.id, input })).updateMovie
        : (await gql(CREATE_MOVIE, { input })).createMovie;
      if (!movie) {
        setTitle('');
        setDescription('');
      }
      onSaved(saved);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="form" onSubmit={submit}>
      <label for={`${prefix}-title`}>Title</label>
      <input id={`${prefix}-title`} required value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
      <label for={`${prefix}-description`}>Description</label>
      <textarea id={`${prefix}-description`} required rows={3} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      <ErrorMessage error={error} />
      <p class="actions">
        <button type="submit" disabled={busy}>
          {movie ? 'Save movie' : 'Add movie'}
        </button>{' '}
        {onCancel && (
          <button type="button" class="secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </p>
    </form>
  );
}

export function Movies({ title }: { title: string }) {
  const [typed, setTyped] = useState(title);
  const [editing, setEditing] = useState<Movie['id'] | null>(null);
  const [notice, setNotice] = useState('');
  useEffect(() => setTyped(title), [title]);
  const movies = useLoad(() => gql(MOVIES, { title: title || null }).then((d) => d.movies), [title]);
  const admin = hasRole('admin');

  const saved = (what: string) => (m: Movie) => {
    setEditing(null);
    setNotice(`${what} “${m.title}”.`);
    movies.reload();
  };

  return (
    <Page title="Movies">
      <form
        role="search"
        class="form inline"
        onSubmit={(e) => {
          e.preventDefault();
          const t = typed.trim();
          navigate(t ? `/movies?title=${encodeURIComponent(t)}` : '/movies');
        }}
      >
        <label for="movie-search">Title contains</label>
        <input id="movie-search" type="search" value={typed} onInput={(e) => setTyped(e.currentTarget.value)} />
        <button type="submit">Search</button>
      </form>
      <p role="status" class="ok-text">
        {notice}
      </p>
      {movies.loading && <Loading what="movies" />}
      <ErrorMessage error={movies.error} />
      {movies.data && (
        <p class="muted">
          {movies.data.length === 1 ? '1 movie' : `${movies.data.length} movies`}
          {title ? ` with “${title}” in the title` : ''}.
        </p>
      )}
      <ul class="cards">
        {(movies.data ?? []).map((m) => (
          <li key={m.id} class="card">
            {editing === m.id ? (
              <MovieForm movie={m} onSaved={saved('Saved')} onCancel={() => setEditing(null)} />
            ) : (
              <>
                <h2 class="h3">{m.title}</h2>
                <p>{m.description}</p>
                {admin && (
                  <button type="button" class="secondary" aria-label={`Edit ${m.title}`} onClick={() => setEditing(m.id)}>
                    Edit
                  </button>
                )}
              </>
            )}
          </li>
        ))}
      </ul>
      {admin && (
        <section aria-labelledby="add-movie">
          <h2 id="add-movie">Add a movie</h2>
          <MovieForm onSaved={saved('Added')} />
        </section>
      )}
    </Page>
  );
}
