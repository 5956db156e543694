; Compaction: (compact) and the host's request (the byte 0x1d, then 'c', at the prompt)
; move the live cells together and clear all free space; every reachable datum must
; come through intact, and the heap must go on working afterwards.
(define (iota n)
  (let loop ((i (- n 1)) (acc '()))
    (if (< i 0) acc (loop (- i 1) (cons i acc)))))
(define (sum-iter l acc) (if (null? l) acc (sum-iter (cdr l) (+ acc (car l)))))
(define keep (iota 1000))
(define names (map number->string (iota 30)))
(define (make-adder k) (lambda (v) (+ v k)))
(define add7 (make-adder 7))
(define table (map (lambda (i) (list i (string-append "s" (number->string i)) (make-adder i))) (iota 10)))

; Live and dead cells interleaved: every kept pair sits between garbage.
(define (interleave n)
  (let loop ((i 0) (kept '()) (dropped '()))
    (if (= i n) kept (loop (+ i 1) (cons i kept) (cons (number->string i) dropped)))))
(define mixed (interleave 20000))

; A large structure, built and dropped.
(define big (iota 100000))
(length big)
(room)
(set! big #f)
(compact)
(room)

; Everything reachable is still there.
(sum-iter keep 0)
(equal? keep (iota 1000))
(apply string-append names)
(add7 35)
(define (caddr-free row) (car (cdr (cdr row))))
(map (lambda (row) ((caddr-free row) 100)) table)
(map cadr table)
(length mixed)
(sum-iter mixed 0)

; Compacting deep inside evaluation: cells the C stack points to stay put (pinned),
; the others move, and the computation in progress carries on.
(define (deep n) (if (= n 0) (begin (compact) 0) (+ (car (list n)) (deep (- n 1)))))
(deep 300)
(let ((x (iota 100)) (s (string-append "x" "y"))) (compact) (list (sum-iter x 0) s))

; The heap works on: churn through several collections, then compare.
(define (churn rounds)
  (let loop ((r 0) (last 0))
    (if (= r rounds) last (loop (+ r 1) (sum-iter (iota 5000) 0)))))
(churn 60)
(gc)
(equal? keep (iota 1000))
(sum-iter mixed 0)

; The host asks at the prompt: a control line answers (the host shows none of it).
c
(room)
(add7 1)
; Asked in the middle of a datum: refused, and the datum reads on.
(+ 1
c
2)
; An unknown request.
x
; (save-world "name"): compacts, asks the host, and returns its answer:
; #f just saved, #t resumed, an error when the host refuses.
(save-world "w")
s
(save-world "w")
r
(if (save-world "w2") 'resumed 'saved)
s
(save-world "w3")
ecannot save here
(save-world "a b")
(save-world 5)
(sum-iter keep 0)
(room)
(exit 0)
