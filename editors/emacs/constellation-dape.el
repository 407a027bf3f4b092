;;; constellation-dape.el --- Debug Constellation pipelines with dape  -*- lexical-binding: t; -*-

;; Constellation's debugger (`cst dap') in Emacs through dape (GNU ELPA: M-x package-install
;; RET dape). It steps through a pipeline by layer and by call, with breakpoints on bindings.
;;
;; Load it after constellation.el: (require 'constellation-dape).  Then in a .cst buffer:
;;   M-x dape RET constellation RET       debug the buffer's file with its @example inputs
;;   M-x dape RET constellation-replay RET     replay the file's last recorded run
;;   M-x dape RET constellation-replay :replay "12" RET   replay run 12 (see `cst runs list')
;; and dape's keys (prefix C-x C-a by default, repeatable with repeat-mode):
;;   b breakpoint on the binding's line · c continue · n next (the layer to its barrier)
;;   s step in (one call) · o step out (to the end of the layer) · p pause · k kill
;;   C-x C-a B   (dape-breakpoint-expression) a conditional breakpoint: a .cst expression
;;   C-x C-a h   (dape-breakpoint-hits) a hit count ·  r  the REPL (evaluate expressions)

;;; Code:

(require 'cl-lib)
(require 'constellation nil t)

(defvar constellation-server-command)

(defun constellation-dape-command ()
  "The debug adapter's command: the language server's, with `dap' for `lsp'."
  (let* ((server (if (boundp 'constellation-server-command) constellation-server-command
                   '("cst" "lsp")))
         (position (cl-position "lsp" server :test #'equal :from-end t)))
    (unless position
      (user-error "constellation-server-command %S has no \"lsp\" argument to replace" server))
    (append (cl-subseq server 0 position) '("dap"))))

(defun constellation-dape--config (name &rest launch)
  (let ((command (constellation-dape-command)))
    `(,name
      modes (constellation-mode)
      command ,(car command)
      command-args ,(cdr command)
      command-cwd dape-command-cwd
      :type "constellation"
      :request "launch"
      :program dape-buffer-default
      ,@launch)))

(with-eval-after-load 'dape
  (add-to-list 'dape-configs
               (constellation-dape--config 'constellation :useExamples t :stopOnEntry t))
  (add-to-list 'dape-configs
               (constellation-dape--config 'constellation-serial
                                           :useExamples t :serial t :stopOnEntry t))
  (add-to-list 'dape-configs
               (constellation-dape--config 'constellation-replay :replay "last" :stopOnEntry t)))

(provide 'constellation-dape)
;;; constellation-dape.el ends here
