; Every error prints one line and returns to the prompt; the session goes on.
(define survivor 'still-here)
undefined-variable
(car 5)
(car '())
(cdr "string")
(+ 1 "two")
(- 'a)
(< 1 'b)
(string-length 'sym)
(string-append "a" 1)
(symbol->string "str")
(length '(1 2 . 3))
(substring "abc" 2 5)
(/ 10 0)
(mod 10 0)
(define (two-args a b) (+ a b))
(two-args 1)
(two-args 1 2 3)
((lambda (a . rest) a))
(car)
(cons 1 2 3)
(5 3)
("not a procedure")
(apply + 1 2)
(map 5 '(1 2))
(set! never-defined 1)
(error "a user error" '(with irritant))
(error "just a message")
(exit 256)
; integer overflow is an error, never a silent wrap
(+ 1073741823 1)
(- -1073741824 1)
(* 65536 65536)
(- -1073741824)
(/ -1073741824 -1)
1073741824
-1073741825
; too deep recursion: the stack-depth guard
(define (deep n) (+ 1 (deep n)))
(deep 0)
(define (build n) (if (= n 0) '() (list (build (- n 1)))))
(length (build 100))
(build 100000)
; syntax errors
(if)
(if 1 2 3 4)
(lambda)
(lambda (1) 1)
(let ((a)) a)
(define)
(quote)
(1 . 2)
; reader errors drop the rest of their line
)
(+ 1 2) ) (this is dropped)
#x
(. 1)
(1 . 2 3)
'done-with-errors
; the display before the error stays, the error starts on a new line
(begin (display "partial output") (car 1))
; definitions made before the errors are intact
survivor
(two-args 20 22)
(exit 0)
