; Proper tail calls: each loop below would need a C stack frame (or more) per
; iteration without them, and the stack-depth guard (non-tail recursion stops at a
; depth of about 13,000, see the end) would stop it long before the end.

; A million self tail calls through if.
(define (count-down n)
  (if (= n 0)
      'done
      (count-down (- n 1))))
(count-down 1000000)

; An accumulating loop: the sum of 1..40000 (that of 1..100000 is too big for a fixnum).
(define (sum-to n acc)
  (if (= n 0) acc (sum-to (- n 1) (+ acc n))))
(sum-to 40000 0)

; Mutual recursion in tail position.
(define (my-even? n) (if (= n 0) #t (my-odd? (- n 1))))
(define (my-odd? n) (if (= n 0) #f (my-even? (- n 1))))
(my-even? 20001)
(my-odd? 20001)

; Tail positions inside cond, and, or, begin, let, let*, a named let and apply.
(define (via-cond n) (cond ((= n 0) 'cond-done) (else (via-cond (- n 1)))))
(via-cond 20000)
(define (via-and n) (and #t (if (= n 0) 'and-done (via-and (- n 1)))))
(via-and 20000)
(define (via-or n) (or #f (if (= n 0) 'or-done (via-or (- n 1)))))
(via-or 20000)
(define (via-begin n) (begin 1 (if (= n 0) 'begin-done (via-begin (- n 1)))))
(via-begin 20000)
(define (via-let n) (let ((m (- n 1))) (if (< m 0) 'let-done (via-let m))))
(via-let 20000)
(define (via-let* n) (let* ((a n) (m (- a 1))) (if (< m 0) 'let*-done (via-let* m))))
(via-let* 20000)
(let loop ((i 0) (acc '()))
  (if (= i 20000)
      (length acc)
      (loop (+ i 1) (if (< i 5) (cons i acc) acc))))
(define (via-apply n) (if (= n 0) 'apply-done (apply via-apply (list (- n 1)))))
(via-apply 20000)

; Not a tail call: (+ 1 (deep ...)) waits for the result, so deep recursion hits the
; guard with an error instead of crashing, and the session goes on.
(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1)))))
(deep 10000)
(deep 20000)
(count-down 10)
(exit 0)
