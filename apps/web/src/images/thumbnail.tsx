import { useEffect, useState } from 'react';
import { getBlob } from '../api/client';

interface ThumbnailProps {
  imageId: number;
  /** What the picture shows, for screen readers (e.g. its path). */
  alt: string;
  /** Shown size in CSS pixels; the API is asked for twice that, for sharp screens, within its limit. */
  size?: number;
}

/** The API's largest thumbnail. */
const MAX_API_SIZE = 512;

/**
 * An image's thumbnail from `GET /images/:id/thumbnail`. An <img src> cannot send the
 * Authorization header and the token never goes in a URL, so it is fetched with the token and
 * shown through an object URL, revoked when the component goes or shows another image. An image
 * the API cannot make a thumbnail of (corrupt, missing) shows the API's reason in its place.
 */
export function Thumbnail({ imageId, alt, size = 96 }: ThumbnailProps) {
  const [state, setState] = useState<{ url?: string; error?: string }>({});
  useEffect(() => {
    const controller = new AbortController();
    let url: string | undefined;
    setState({});
    getBlob(`/images/${imageId}/thumbnail?size=${Math.min(MAX_API_SIZE, size * 2)}`, controller.signal).then(
      (blob) => {
        url = URL.createObjectURL(blob);
        setState({ url });
      },
      (error: Error) => {
        if (!controller.signal.aborted) setState({ error: error.message });
      },
    );
    return () => {
      controller.abort();
      if (url) URL.revokeObjectURL(url);
    };
  }, [imageId, size]);
  const box = { width: size, height: size };
  if (state.error) {
    return (
      <span className="thumbnail thumbnail-missing" style={box} role="img" aria-label={`${alt}: no preview`} title={state.error} data-testid={`thumbnail-error-${imageId}`}>
        no preview
      </span>
    );
  }
  if (!state.url) return <span className="thumbnail thumbnail-loading" style={box} role="img" aria-label={`${alt}: loading`} aria-busy="true" />;
  return <img className="thumbnail" src={state.url} alt={alt} width={size} height={size} data-testid={`thumbnail-${imageId}`} />;
}
