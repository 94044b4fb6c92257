/**
 * @module
 * Light, dark, or the system's choice. The choice is a display preference, so it may stay in localStorage.
 */

const THEME_ITEM = 'ep.theme';
const THEMES = ['auto', 'light', 'dark'] as const;
type Theme = (typeof THEMES)[number];

export function mountThemeToggle(button: HTMLButtonElement): void {
  let theme: Theme = THEMES.find((t) => t === readSaved()) ?? 'auto';
  const apply = () => {
    if (theme === 'auto') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme;
    // The visible text is the accessible name, so speech control users can say what they see.
    button.textContent = `Theme: ${theme === 'auto' ? 'system' : theme}`;
  };
  button.addEventListener('click', () => {
    theme = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length] as Theme;
    try {
      localStorage.setItem(THEME_ITEM, theme);
    } catch {
      // Storage can be off (private modes); the choice then lasts for this page only.
    }
    apply();
  });
  apply();
}

function readSaved(): string | null {
  try {
    return localStorage.getItem(THEME_ITEM);
  } catch {
    return null;
  }
}
