/** Entry: renders the shell at once, then again when the runtime config has loaded. */
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { render } from 'preact';
import { App } from './app';
import { loadConfig } from './load-config';

const root = document.getElementById('app');
if (root) {
  render(<App config={undefined} />, root);
  loadConfig().then((config) => render(<App config={config} />, root));
}
