; Closures: each keeps its own environment; set! changes the captured variable.
(define (make-counter)
  (let ((n 0))
    (lambda () (set! n (+ n 1)) n)))
(define c1 (make-counter))
(define c2 (make-counter))
(c1)
(c1)
(c1)
(c2)
(c1)

; A bank account: several closures sharing one variable.
(define (make-account balance)
  (define (withdraw amount)
    (if (> amount balance)
        "insufficient funds"
        (begin (set! balance (- balance amount)) balance)))
  (define (deposit amount) (set! balance (+ balance amount)) balance)
  (lambda (message . args)
    (cond ((eq? message 'withdraw) (apply withdraw args))
          ((eq? message 'deposit) (apply deposit args))
          ((eq? message 'balance) balance)
          (else (list 'unknown message)))))
(define acc (make-account 100))
(acc 'withdraw 30)
(acc 'deposit 50)
(acc 'withdraw 500)
(acc 'balance)
(acc 'close)

; Adders made in a loop, called later.
(define (make-adder k) (lambda (v) (+ v k)))
(define adders (map make-adder '(1 10 100)))
(map (lambda (f) (f 5)) adders)

; A closure over a loop variable of a named let.
(define fns
  (let loop ((i 0) (acc '()))
    (if (= i 3) acc (loop (+ i 1) (cons (lambda () (* i i)) acc)))))
(map (lambda (f) (f)) fns)

; set! on a global from inside a closure, and on a parameter.
(define total 0)
(define (add-to-total! v) (set! total (+ total v)) total)
(add-to-total! 5)
(add-to-total! 7)
total
(define (bump v) (set! v (+ v 1)) v)
(bump 41)

; Internal defines see each other (mutual recursion inside a body).
(define (parity n)
  (define (ev? k) (if (= k 0) 'even (od? (- k 1))))
  (define (od? k) (if (= k 0) 'odd (ev? (- k 1))))
  (ev? n))
(parity 10)
(parity 7)

; Higher-order helpers written in Lisp.
(define (filter keep? l)
  (cond ((null? l) '())
        ((keep? (car l)) (cons (car l) (filter keep? (cdr l))))
        (else (filter keep? (cdr l)))))
(define (fold f acc l) (if (null? l) acc (fold f (f acc (car l)) (cdr l))))
(filter (lambda (v) (= (mod v 2) 0)) '(1 2 3 4 5 6))
(fold + 0 '(1 2 3 4 5))
(fold (lambda (acc v) (cons v acc)) '() '(a b c))
(define (curry f a) (lambda args (apply f a args)))
((curry list 'first) 'second 'third)
(exit 0)
