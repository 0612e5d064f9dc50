import { useEffect, useState } from 'react';
import { LoginPage } from './auth/login-page';
import { takeSignInCode } from './auth/sign-in-link';
import { tokenStore } from './auth/token-store';
import { ActivityPage } from './pages/activity-page';
import { ComparePage } from './pages/compare-page';
import { DatasetPage } from './pages/dataset-page';
import { DatasetsPage } from './pages/datasets-page';
import { FeatureSetPage } from './pages/feature-set-page';
import { FeatureSetsPage } from './pages/feature-sets-page';
import { PredictPage } from './pages/predict-page';
import { RunPage } from './pages/run-page';
import { RunsPage } from './pages/runs-page';

/** Pages are addressed by the URL's hash (#/runs/<id>): no console path can collide with an API route. */
function useHashRoute(): string[] {
  const read = () => window.location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

const NAV = [
  { path: 'runs', label: 'Runs' },
  { path: 'feature-sets', label: 'Feature sets' },
  { path: 'datasets', label: 'Datasets' },
  { path: 'predict', label: 'Predict' },
  { path: 'activity', label: 'Activity' },
];

export function App() {
  // Before the route is read: a sign-in link's code leaves the address bar at once.
  // Spent once signed in: signing out later must not trade it again.
  const [signInCode, setSignInCode] = useState(takeSignInCode);
  const [token, setToken] = useState(tokenStore.get);
  const [section = 'runs', id] = useHashRoute();
  if (!token) {
    return (
      <LoginPage
        signInCode={signInCode}
        onToken={(value) => {
          tokenStore.set(value);
          setSignInCode(null);
          setToken(value);
        }}
      />
    );
  }
  return (
    <>
      <nav className="top-nav" aria-label="Main">
        <span className="brand">featx</span>
        {NAV.map((item) => (
          <a key={item.path} href={`#/${item.path}`} aria-current={section === item.path || (item.path === 'runs' && section === 'compare') ? 'page' : undefined}>
            {item.label}
          </a>
        ))}
        <button
          className="sign-out"
          onClick={() => {
            tokenStore.clear();
            setToken(null);
          }}
        >
          Sign out
        </button>
      </nav>
      <main>{page(section, id)}</main>
    </>
  );
}

function page(section: string, id?: string) {
  if (section === 'runs' && id) return <RunPage key={id} runId={id} />;
  if (section === 'runs') return <RunsPage />;
  if (section === 'compare') return <ComparePage runIds={(id ?? '').split(',').filter(Boolean)} />;
  if (section === 'feature-sets' && id) return <FeatureSetPage key={id} featureSetId={id} />;
  if (section === 'feature-sets') return <FeatureSetsPage />;
  if (section === 'datasets' && id) return <DatasetPage key={id} datasetId={id} />;
  if (section === 'datasets') return <DatasetsPage />;
  if (section === 'predict') return <PredictPage />;
  if (section === 'activity') return <ActivityPage />;
  return <p role="alert">No page "{section}": choose one above.</p>;
}
