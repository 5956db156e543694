; Amber Lisp basics: numbers, symbols, lists, strings, quote, define, lambda, let,
; if, cond, begin, and, or, and the list and string builtins.
42
-17
(+ 1 2 3)
(- 10 4 3)
(- 5)
(* 6 7)
(/ 17 5)
(/ -17 5)
(mod 17 5)
(mod -17 5)
(mod 17 -5)
(+)
(*)
(< 1 2 3)
(< 1 3 2)
(>= 3 3 1)
(= 7 7)
(<= 1 1 2)
(> 2 1)
1073741823
-1073741824
'hello
'(1 2 3)
'(a . b)
'(a b . c)
''x
(quote (quote x))
"a string"
"tab\tquote\"backslash\\newline\n"
#t
#f
'()

; define, lambda, closures
(define x 10)
x
(define (square n) (* n n))
(square 12)
(define cube (lambda (n) (* n n n)))
cube
(cube 3)
((lambda (a b) (+ a b)) 3 4)
((lambda args args) 1 2 3)
((lambda (a . rest) (list a rest)) 1 2 3)
(define (compose f g) (lambda (v) (f (g v))))
((compose square cube) 2)

; let, let*, named let
(let ((a 1) (b 2)) (+ a b))
(let ((x 1) (y x)) y)
(let* ((x 1) (y (+ x 1))) (* x y))
(let loop ((i 0) (acc '())) (if (= i 5) (reverse acc) (loop (+ i 1) (cons i acc))))

; if, cond, begin, and, or
(if #t 'yes 'no)
(if #f 'yes 'no)
(if '() 'empty-list-is-true 'no)
(if #f #f)
(cond ((= 1 2) 'one) ((= 2 2) 'two) (else 'other))
(cond ((= 1 2) 'one) (else 'other))
(cond (#f 1))
(cond ((+ 1 1)))
(begin 1 2 3)
(and)
(and 1 2 3)
(and 1 #f 3)
(or)
(or #f 2 3)
(or #f #f)

; set!
(define counter 0)
(set! counter (+ counter 1))
counter

; lists
(car '(1 2 3))
(cdr '(1 2 3))
(cadr '(1 2 3))
(cons 1 '(2))
(cons 1 2)
(list 1 (+ 1 1) "three" 'four)
(list)
(null? '())
(null? '(1))
(pair? '(1))
(pair? '())
(eq? 'a 'a)
(eq? '(1) '(1))
(equal? '(1 (2 "x")) '(1 (2 "x")))
(equal? "abc" "abd")
(length '(1 2 3 4))
(length '())
(append '(1 2) '(3) '() '(4 5))
(append)
(append '(1) 2)
(reverse '(1 2 3))
(map square '(1 2 3 4))
(map + '(1 2 3) '(10 20 30 40))
(map (lambda (p) (car p)) '((a 1) (b 2)))
(apply + 1 2 '(3 4))
(apply list '())
(not #f)
(not 0)
(number? 1)
(number? 'a)
(string? "s")
(symbol? 'a)
(symbol? "a")
(procedure? car)
(procedure? square)
(procedure? 'car)

; strings and symbols
(string-append "foo" "bar" "" "baz")
(string-append)
(string-length "hello")
(substring "hello world" 6 11)
(substring "hello" 2)
(string=? "abc" "abc")
(number->string -1234)
(string->symbol "made-up")
(eq? (string->symbol "car") 'car)
(symbol->string 'lambda)
(string-length (symbol->string 'lambda))

; output
(display "display: no quotes")
(newline)
(display '(1 "two" three))
(newline)
(write "write: quotes")
(newline)
(print '(print "adds" a newline))
(display 42)
car
(begin (display "a") (display "b") 'c)

; several expressions on a line, and one over several lines
1 2 (+ 1 2)
(define (long-one a
                 b)
  ; a comment inside
  (list a
        b))
(long-one 'p 'q)
(exit 0)
