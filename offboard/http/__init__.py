"""What the REST API and the console share at the HTTP edge: the cookies, CSRF, the locale of a
request, how an error is answered, and the middlewares around every request. Both import it;
it imports neither, and they never import each other (offboard.api.app composes them)."""
