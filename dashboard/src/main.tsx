/** Entry: a loading line at once, then the app when the runtime config has loaded. */
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { render } from 'preact';
import { App } from './app';
import { Loading } from './components/states';
import { loadConfig } from './load-config';

const root = document.getElementById('app');
if (root) {
  render(<Loading what="the dashboard" />, root);
  loadConfig().then((config) => render(<App config={config} />, root));
}
