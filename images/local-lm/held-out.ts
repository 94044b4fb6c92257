/**
 * @module
 * Natural English sentences written for this project, so they appear in none of the training corpora (modern
 * vocabulary the 1790–2021 speeches, Moby Dick and the 1961 Brown corpus do not contain verbatim). Tests check
 * that each model finds them likelier than the same words shuffled.
 */
export const HELD_OUT_SENTENCES: readonly string[] = [
  'The small bakery on the corner opens early every morning and sells fresh bread to the people who live nearby.',
  'After the long meeting ended, she walked home through the park and thought about what she would say to her brother.',
  'Many families in the town depend on the river for water, and they worry when the summer is dry.',
  'The old man told the children a story about a ship that was lost at sea during a terrible storm.',
  'We believe that every child in this country should have the chance to go to a good school.',
  'He opened the letter slowly, read it twice, and then put it back on the table without a word.',
  'The new law will make it easier for workers to find jobs and for small businesses to grow.',
  'When the rain finally stopped, the streets were full of people who had been waiting to go outside.',
];
