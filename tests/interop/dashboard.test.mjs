// The web dashboard in Debian's Chromium (installed through apt when missing), driven by
// puppeteer-core over CDP: every check of dashboard_suite.mjs, with the long ones (100,000 log
// lines; a restart of serve with the pages open). Its screenshots are the ones in docs/.

import { dashboardSuite } from "./dashboard_suite.mjs";

dashboardSuite("chromium", { full: true });
