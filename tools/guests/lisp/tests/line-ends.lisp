; Line ends: a terminal sends \r, files \n, some hosts \r\n; each is one line end.(+ 1 1)(+ 2 2)
(+ 3 3)
(list 12
3)

"ab"(string-length "a
b")(exit 0)