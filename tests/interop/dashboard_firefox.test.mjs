// The web dashboard in Debian's Firefox ESR (installed through apt when missing), driven by
// puppeteer-core over WebDriver BiDi, in its dark theme: the checks of dashboard_suite.mjs but
// the long ones (pages render, workers and pipelines live, log lines arriving, a link to a line,
// the download, an approval clicked through, a phone's width, sign-in, a viewer without buttons,
// no console errors).

import { dashboardSuite } from "./dashboard_suite.mjs";

dashboardSuite("firefox", { full: false });
