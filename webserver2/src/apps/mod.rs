//! The applications webserver2 can serve, standing in for the article's
//! `wsgiapp.py` and its Pyramid, Flask and Django applications. Each one
//! knows the interface in `wsgi` and nothing of the server; the server
//! knows none of them. `main` picks one by name, as the Python's command
//! line (`webserver2.py flaskapp:app`) picks a module and a callable.

pub mod counter;
pub mod faulty;
pub mod hello;
pub mod router;
