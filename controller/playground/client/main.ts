/**
 * @module
 * The playground page's entry: wires the key field, the theme, the settings and the three views, then asks the
 * server for its models and for what its scoring route supports.
 */
import { PlaygroundApi } from './api.ts';
import { mountBatchView } from './batch-view.ts';
import { mountCompareView } from './compare-view.ts';
import { byId } from './dom.ts';
import { mountKeyField } from './key-field.ts';
import { Settings } from './settings.ts';
import { mountSingleView } from './single-view.ts';
import { errorWords } from './status.ts';
import { mountTabs } from './tabs.ts';
import { mountThemeToggle } from './theme.ts';

async function start(): Promise<void> {
  mountThemeToggle(byId<HTMLButtonElement>('theme-toggle'));
  mountTabs(byId('view-tabs'));
  const readKey = mountKeyField();
  // The server's root: this page is served at <root>/playground, so a proxy path prefix is kept.
  const api = new PlaygroundApi(new URL('./', document.baseURI), readKey);
  const features = await api.features();
  const settings = new Settings(features);
  const ctx = { api, features, settings };
  mountSingleView(ctx);
  mountCompareView(ctx);
  mountBatchView(ctx);
  try {
    settings.showModels(await api.models());
  } catch (err) {
    settings.showModelError(errorWords(err));
  }
  document.documentElement.dataset.ready = 'true';
}

void start();
