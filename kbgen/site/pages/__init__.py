"""Pages the build adds to the site that no writer keeps by hand: listings, support forms, requests, sign-in, search."""
