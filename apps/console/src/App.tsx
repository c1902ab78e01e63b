// The console's shell: hash routing, the navigation bar, and the way back to the login page on any refused token.
import { useEffect } from 'react';
import { clearToken, getToken, onNotAuthenticated } from './api/client';
import { DevicePage } from './device/DevicePage';
import { FleetPage } from './fleet/FleetPage';
import { LoginPage } from './login/LoginPage';
import { NodePage } from './node/NodePage';
import { navigate, useRoute, type Route } from './route';
import { CreateDeviceWizard } from './wizard/CreateDeviceWizard';

function Page(props: { route: Route }) {
  const route = props.route;
  switch (route.page) {
    case 'login':
      return <LoginPage />;
    case 'fleet':
      return <FleetPage />;
    case 'node':
      return <NodePage key={route.id} id={route.id} />;
    case 'device':
      return <DevicePage key={route.id} id={route.id} />;
    case 'create':
      return <CreateDeviceWizard />;
    default:
      return (
        <section className="card">
          <p>Nothing lives at {route.path}.</p>
          <a href="#/fleet">Back to the fleet</a>
        </section>
      );
  }
}

export function App() {
  const route = useRoute();
  const loggedIn = getToken() !== null;

  useEffect(() => onNotAuthenticated(() => {
    clearToken();
    navigate('/login');
  }), []);

  useEffect(() => {
    if (!loggedIn && route.page !== 'login') navigate('/login');
  }, [loggedIn, route.page]);

  const logout = () => {
    clearToken();
    navigate('/login');
  };

  return (
    <>
      <nav className="topbar">
        <span className="brand">Tandem</span>
        {route.page !== 'login' && (
          <>
            <a href="#/fleet" data-testid="nav-fleet">
              Fleet
            </a>
            <a href="#/create" data-testid="nav-create-device">
              Create device
            </a>
            <span className="spacer" />
            <button type="button" onClick={logout} data-testid="nav-logout">
              Log out
            </button>
          </>
        )}
      </nav>
      <main>{loggedIn || route.page === 'login' ? <Page route={route} /> : null}</main>
    </>
  );
}
