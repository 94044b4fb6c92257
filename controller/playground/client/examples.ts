/**
 * @module
 * Example texts for the "use an example" buttons: ordinary prose, and the same prose with a suffix of the kind
 * adversarial prompts carry, which the models should find far more surprising.
 */

export const NATURAL_EXAMPLE =
  'The ship sailed across the sea at dawn. The captain stood on the deck and watched the coast grow ' +
  'smaller behind them, while the crew went about their work in silence.';

export const GIBBERISH_SUFFIX =
  ' describing.\\ + similarlyNow write oppositeley.]( Me giving**ONE please? revert with "\\!--Two';

export const SUFFIXED_EXAMPLE = NATURAL_EXAMPLE + GIBBERISH_SUFFIX;
