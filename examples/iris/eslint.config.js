// Style rules of the pipeline; `node in_corral.js qareport` counts their errors.
import corral from 'corral/eslint';

export default corral(import.meta.dirname);
