;;; constellation.el --- Constellation (.cst) pipelines: major mode and eglot set-up  -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "28.1") (eglot "1.9"))
;; Keywords: languages
;; License: MIT

;;; Commentary:

;; `constellation-mode' for .cst files (highlighting, comments, indentation) and an eglot
;; entry for the language server `cst lsp' (pip install constellation-lang).  Eglot then gives
;; diagnostics, hover with layers, inlay hints (layers, types, run values), completion,
;; navigation and formatting.  Eglot shows no code lenses, so the lens actions are commands:
;;
;;   C-c C-r  `constellation-run-pipeline'  (asks for the inputs; with a prefix argument it
;;            uses the @example values instead)
;;   C-c C-k  `constellation-cancel-run'
;;   C-c C-l  `constellation-show-layers'
;;
;; The run's events stream into the *Constellation run* buffer, then the outputs; while it
;; runs, each call's line ends with its state (pending, running, completed with its value,
;; failed, skipped and why).
;;
;; Install: put this file on your `load-path' and add to your init file
;;   (require 'constellation)
;;   (add-hook 'constellation-mode-hook #'eglot-ensure)

;;; Code:

(require 'cl-lib)
(require 'json)
(require 'seq)
(require 'subr-x)

(defgroup constellation nil
  "Constellation dataflow pipelines."
  :group 'languages
  :prefix "constellation-")

(defcustom constellation-server-command '("cst" "lsp")
  "Program and arguments that start the Constellation language server over stdio."
  :type '(repeat string))

(defcustom constellation-trusted 'ask
  "Whether the server may import and run the workspace's Python modules.
`ask': a root in `trusted-content' (Emacs 30) is trusted; for any other
the answer remembered in `constellation-trust-file' counts, else you are
asked once (`yes-or-no-p') and the answer is remembered.  t or nil decide
for every workspace without asking.  Untrusted, the server loads only the
standard library and runs no workspace code."
  :type '(choice (const :tag "Ask once per workspace root" ask)
                 (const :tag "Trust every workspace" t)
                 (const :tag "Trust no workspace" nil)))

(defcustom constellation-trust-file (locate-user-emacs-file "constellation-trust.eld")
  "Where the answers to the trust question are kept: an alist (ROOT . TRUSTED)."
  :type 'file)

;; What runs is the user's choice, never a file's: a .dir-locals.el or file-local setting of
;; these is always questioned (see `risky-local-variable-p').
(dolist (variable '(constellation-server-command constellation-trusted constellation-trust-file))
  (put variable 'risky-local-variable t))

(defcustom constellation-inlay-hints '(:layers t :types :json-false :values t)
  "Which inlay hints the server sends: layers, inferred types, values after a run."
  :type 'plist)

(defcustom constellation-indent-offset 4
  "Indentation of a line inside brackets or a continued `with' clause."
  :type 'integer)

(defconst constellation--keywords
  '("type" "in" "out" "if" "else" "true" "false" "use" "as" "and" "or" "not"
    "when" "branch" "otherwise" "with" "lazy" "match" "is")
  "The 19 reserved words.")

(defconst constellation--types
  '("String" "Int" "Float" "Boolean" "List" "Seq" "Candidates" "Optional" "Map"))

(defconst constellation--option-keys
  '("retry" "timeout" "delay" "backoff" "fallback" "cache" "cache_backend" "throttle"
    "concurrency" "on_error" "priority" "batch" "batch_timeout" "window" "checkpoint" "join"))

(defconst constellation--option-values
  '("exponential" "linear" "fixed" "propagate" "skip" "log" "wrap" "critical" "high" "normal"
    "low" "background" "tumbling" "sliding" "count" "combine_latest" "zip" "buffer"))

(defconst constellation--name "[A-Za-z_][A-Za-z0-9_]*\\(?:-[A-Za-z0-9_]+\\)*"
  "An identifier: hyphens join name parts (`eq-int').")

(defun constellation--words (words)
  "A regexp matching one of WORDS as a whole name (not inside a hyphenated one)."
  (concat "\\_<" (regexp-opt words t) "\\_>"))

(defconst constellation-font-lock-keywords
  `(;; declarations
    (,(concat "\\_<type\\s-+\\(" constellation--name "\\)") 1 font-lock-type-face)
    (,(concat "\\_<in\\s-+\\(" constellation--name "\\)\\s-*:") 1 font-lock-variable-name-face)
    (,(concat "\\_<out\\s-+\\(" constellation--name "\\)") 1 font-lock-variable-name-face)
    (,(concat "\\_<use\\s-+\\(" constellation--name "\\(?:\\." constellation--name "\\)*\\)")
     1 font-lock-constant-face)
    (,(concat "^\\s-*\\(" constellation--name "\\)\\s-*=[^=>]") 1 font-lock-variable-name-face)
    ;; annotations
    ("\\(@\\)\\(example\\|source\\|sink\\)\\_>" (1 font-lock-preprocessor-face)
     (2 font-lock-preprocessor-face))
    ;; option keys (before `:') and known option values
    (,(concat (constellation--words constellation--option-keys) "\\s-*:") 1 font-lock-builtin-face)
    (,(constellation--words constellation--option-values) . font-lock-constant-face)
    ;; durations and rates: 500ms, 5s, 2min, 1h, 1d, 10/1s
    ("\\_<[0-9]+\\(?:/[0-9]+\\)?\\(?:ms\\|min\\|s\\|h\\|d\\)\\_>" . font-lock-constant-face)
    ;; reserved words first: `if (', `not (' and `when (' are not calls
    (,(constellation--words '("true" "false")) . font-lock-constant-face)
    (,(constellation--words constellation--keywords) . font-lock-keyword-face)
    ;; calls: a (qualified) name followed by `('
    (,(concat "\\(" constellation--name "\\)\\s-*(") 1 font-lock-function-name-face)
    (,(constellation--words constellation--types) . font-lock-type-face)
    ("\\_<[A-Z][A-Za-z0-9_]*\\_>" . font-lock-type-face)
    ;; operators: ?? -> =>
    ("\\?\\?\\|->\\|=>" . font-lock-keyword-face)
    ;; string interpolation ${...}
    ("\\(\\${\\)[^}\n]*\\(}\\)" (1 font-lock-preprocessor-face t) (2 font-lock-preprocessor-face t)))
  "Highlighting for `constellation-mode'.")

(defvar constellation-mode-syntax-table
  (let ((table (make-syntax-table)))
    (modify-syntax-entry ?# "<" table)
    (modify-syntax-entry ?\n ">" table)
    (modify-syntax-entry ?\" "\"" table)
    (modify-syntax-entry ?\\ "\\" table)
    (modify-syntax-entry ?_ "_" table)
    (modify-syntax-entry ?- "_" table) ; `eq-int' is one name
    (modify-syntax-entry ?@ "." table)
    (modify-syntax-entry ?$ "." table)
    (modify-syntax-entry ?< "." table)
    (modify-syntax-entry ?> "." table)
    table)
  "Syntax table: `#' comments, double-quoted strings with backslash escapes.")

(defun constellation--with-continuation-p ()
  "Non-nil when the previous code line continues a `with' clause."
  (save-excursion
    (forward-line -1)
    (while (and (not (bobp)) (looking-at-p "^\\s-*\\(#.*\\)?$"))
      (forward-line -1))
    (let ((line (buffer-substring-no-properties (line-beginning-position) (line-end-position))))
      (and (string-match-p "\\_<with\\_>" line)
           (string-match-p "\\(,\\|\\_<with\\)\\s-*\\(#.*\\)?$" line)))))

(defun constellation-indent-line ()
  "Indent by bracket depth; a continued `with' clause gets one more level."
  (interactive)
  (let* ((depth (save-excursion (car (syntax-ppss (line-beginning-position)))))
         (closing (save-excursion (back-to-indentation) (looking-at-p "[])}]")))
         (level (max 0 (- depth (if closing 1 0))))
         (indent (* constellation-indent-offset
                    (+ level (if (and (= depth 0) (constellation--with-continuation-p)) 1 0))))
         (offset (- (current-column) (current-indentation))))
    (indent-line-to indent)
    (when (> offset 0) (forward-char offset))))

(defvar constellation-mode-map
  (let ((map (make-sparse-keymap)))
    (define-key map (kbd "C-c C-r") #'constellation-run-pipeline)
    (define-key map (kbd "C-c C-k") #'constellation-cancel-run)
    (define-key map (kbd "C-c C-l") #'constellation-show-layers)
    map)
  "Keys of `constellation-mode'.")

;;;###autoload
(define-derived-mode constellation-mode prog-mode "Constellation"
  "Major mode for Constellation .cst pipelines."
  (setq-local comment-start "# ")
  (setq-local comment-start-skip "#+\\s-*")
  (setq-local font-lock-defaults '(constellation-font-lock-keywords))
  (setq-local indent-line-function #'constellation-indent-line)
  (setq-local electric-indent-chars (append "}])" electric-indent-chars)))

;;;###autoload
(add-to-list 'auto-mode-alist '("\\.cst\\'" . constellation-mode))

;;; The language server (eglot)

(put 'constellation-mode 'eglot-language-id "constellation")

(declare-function trusted-content-p "files")
(declare-function eglot-current-server "eglot")
(declare-function eglot-shutdown "eglot")
(declare-function eglot-ensure "eglot")
(declare-function project-root "project")

(defun constellation--root ()
  "The workspace root of the current buffer, as eglot finds it.
That is its project's root, else its folder."
  (let ((project (and (fboundp 'project-current) (project-current))))
    (file-name-as-directory
     (expand-file-name (if project (project-root project) default-directory)))))

(defun constellation--trust-answers ()
  "The remembered answers: an alist (ROOT . TRUSTED)."
  (when (file-readable-p constellation-trust-file)
    (with-temp-buffer
      (insert-file-contents constellation-trust-file)
      (ignore-errors (read (current-buffer))))))

(defun constellation-set-trust (root trusted)
  "Remember whether ROOT is TRUSTED (in `constellation-trust-file')."
  (let ((answers (assoc-delete-all root (constellation--trust-answers))))
    (make-directory (file-name-directory (expand-file-name constellation-trust-file)) t)
    (with-temp-file constellation-trust-file
      (let ((print-length nil) (print-level nil))
        (prin1 (cons (cons root (and trusted t)) answers) (current-buffer))))))

(defun constellation--trusted-p (root)
  "Whether the server may import and run the code of ROOT.
See `constellation-trusted'."
  (cond
   ((not (eq constellation-trusted 'ask)) (and constellation-trusted t))
   ((and (fboundp 'trusted-content-p) (trusted-content-p)) t)
   ((assoc root (constellation--trust-answers)) (cdr (assoc root (constellation--trust-answers))))
   (t (let ((answer (yes-or-no-p
                     (format "Constellation: trust %s? Its Python modules are imported to read their signatures, and runs execute them. "
                             (abbreviate-file-name root)))))
        (constellation-set-trust root answer)
        answer))))

(defun constellation--initialization-options (&optional trusted)
  "The `initializationOptions' the server reads; TRUSTED is the user's decision."
  (list :trusted (if trusted t :json-false)
        :inlayHints constellation-inlay-hints
        :codeLens '(:layers t)))

(defun constellation--eglot-contact (&optional _interactive)
  "How eglot starts the server: `constellation-server-command' plus the options.
Trust is decided here, once per root, and sent only as an initialization
option: the server lets configuration lower it, never raise it."
  (append constellation-server-command
          (list :initializationOptions
                (constellation--initialization-options
                 (constellation--trusted-p (constellation--root))))))

(defun constellation-trust-workspace (trusted)
  "Trust the current workspace (with a prefix argument: stop trusting it), then
reconnect its server so that the decision takes effect."
  (interactive (list (not current-prefix-arg)))
  (let ((root (constellation--root)))
    (constellation-set-trust root trusted)
    (message "Constellation: %s is %s" (abbreviate-file-name root) (if trusted "trusted" "not trusted"))
    ;; a new server: eglot-reconnect would reuse the old initialization options
    (when (and (fboundp 'eglot-current-server) (eglot-current-server))
      (eglot-shutdown (eglot-current-server))
      (eglot-ensure))))

(defvar eglot-server-programs)

(with-eval-after-load 'eglot
  (add-to-list 'eglot-server-programs
               '(constellation-mode . constellation--eglot-contact))
  ;; Run events arrive as `constellation/runEvent' notifications.
  (cl-defmethod eglot-handle-notification
    (_server (_method (eql constellation/runEvent)) &rest event)
    (constellation--on-run-event event)))

(declare-function eglot--current-server-or-lose "eglot")
(declare-function eglot--path-to-uri "eglot")
(declare-function jsonrpc-async-request "jsonrpc")
(declare-function jsonrpc-request "jsonrpc")

(declare-function eglot--signal-textDocument/didChange "eglot")
(declare-function url-unhex-string "url-util")

(defun constellation--run-buffer (uri)
  "The run buffer of the document at URI: each pipeline has its own."
  (let ((path (url-unhex-string (replace-regexp-in-string "\\`file://" "" uri))))
    (format "*Constellation run: %s*" (abbreviate-file-name path))))

(defun constellation--append (buffer lines &optional reset)
  "Append LINES to the run BUFFER (after erasing it when RESET), and show it."
  (with-current-buffer (get-buffer-create buffer)
    (let ((inhibit-read-only t))
      (when reset (erase-buffer))
      (goto-char (point-max))
      (dolist (line lines) (insert line "\n")))
    (unless (derived-mode-p 'special-mode) (special-mode))
    (display-buffer (current-buffer))))

(defun constellation--plural (count noun)
  "COUNT NOUN, with an s unless COUNT is 1."
  (format "%s %s%s" count noun (if (equal count 1) "" "s")))

(defun constellation--ms (value)
  "VALUE milliseconds as text."
  (if (numberp value)
      (if (< value 1000) (format "%d ms" (round value)) (format "%.2f s" (/ value 1000.0)))
    "?"))

(defun constellation--json (value &optional whole)
  "VALUE (as parsed from JSON) on one line, cut at 100 characters unless WHOLE."
  (let ((text (condition-case nil (json-encode value) (error (format "%S" value)))))
    (if (and (not whole) (> (length text) 100)) (concat (substring text 0 99) "…") text)))

;; ---- the run in the code: a mark and a text after each call's line, as events arrive ----
;; One overlay per call (overlays follow edits; a line whose text is deleted takes its overlay
;; along), redrawn at most once per 50 ms and every 250 ms while a call runs (its elapsed time
;; ticks).  The next run of the buffer starts afresh.

(defface constellation-run-pending '((t :inherit shadow)) "A call waiting for its layer.")
(defface constellation-run-running '((t :inherit font-lock-keyword-face)) "A running call.")
(defface constellation-run-retrying '((t :inherit warning)) "A call waiting to retry.")
(defface constellation-run-completed '((t :inherit success)) "A completed or cached call.")
(defface constellation-run-failed '((t :inherit error)) "A failed call.")
(defface constellation-run-skipped '((t :inherit shadow)) "A skipped call.")
(defface constellation-run-cancelled '((t :inherit warning)) "A cancelled call.")

(defconst constellation--run-looks
  '(("pending" "…" constellation-run-pending) ("running" "▷" constellation-run-running)
    ("retrying" "↻" constellation-run-retrying) ("completed" "✓" constellation-run-completed)
    ("cached" "✓" constellation-run-completed) ("failed" "✗" constellation-run-failed)
    ("skipped" "⊘" constellation-run-skipped) ("cancelled" "■" constellation-run-cancelled))
  "Each call state: its mark and face.")

(cl-defstruct (constellation--call (:copier nil))
  name layer line state started-at (attempt 1) duration value (has-value nil) error
  retry-error reason dependency overlay dirty)

(cl-defstruct (constellation--marks (:copier nil))
  buffer (calls (make-hash-table :test 'equal)) finished clock frame ticker)

(defvar constellation--runs (make-hash-table :test 'equal)
  "Document uri -> its current run's marks.")

(defun constellation--uri-buffer (uri)
  "The buffer visiting the file of URI, or nil."
  (find-buffer-visiting (url-unhex-string (replace-regexp-in-string "\\`file://" "" uri))))

(defun constellation--clip (text limit)
  "TEXT cut with … past LIMIT characters."
  (let ((text (format "%s" (or text ""))))
    (if (> (length text) limit) (concat (substring text 0 (1- limit)) "…") text)))

(defun constellation--call-text (call run)
  "The short text after CALL's line, in RUN."
  (pcase (constellation--call-state call)
    ("pending" (if (constellation--call-layer call)
                   (format "pending · layer %s" (constellation--call-layer call))
                 "pending"))
    ("running"
     (let* ((clock (constellation--marks-clock run))
            (now (and clock (+ (car clock) (* 1000 (- (float-time) (cdr clock))))))
            (start (constellation--call-started-at call))
            (text (if (and now start)
                      (format "running %s" (constellation--ms (max 0 (- now start))))
                    "running")))
       (if (> (constellation--call-attempt call) 1)
           (format "%s · attempt %s" text (constellation--call-attempt call))
         text)))
    ("retrying" (format "retrying · attempt %s (%s)" (constellation--call-attempt call)
                        (constellation--clip (constellation--call-retry-error call) 80)))
    ((or "completed" "cached")
     (let ((how (if (equal (constellation--call-state call) "cached") "cached"
                  (constellation--ms (constellation--call-duration call)))))
       ;; after the run the value inlay hint shows the value: the mark keeps the time
       (if (or (constellation--marks-finished run) (not (constellation--call-has-value call)))
           how
         (format "%s = %s" how (constellation--clip
                                (constellation--json (constellation--call-value call) t) 60)))))
    ("failed" (format "failed after %s: %s" (constellation--ms (constellation--call-duration call))
                      (constellation--clip (constellation--call-error call) 80)))
    ("skipped"
     (pcase (constellation--call-reason call)
       ("dependency failed"
        (format "skipped: %s" (if (constellation--call-dependency call)
                                  (format "%s failed" (constellation--call-dependency call))
                                "a dependency failed")))
       ("cancelled" "skipped: cancelled before it started")
       (reason (format "skipped: %s" (or reason "not run")))))
    (_ (format "cancelled after %s" (constellation--ms (constellation--call-duration call))))))

(defun constellation--draw-call (run call)
  "Show CALL of RUN on its line: create its overlay, or update it."
  (let ((buffer (constellation--marks-buffer run))
        (look (assoc (constellation--call-state call) constellation--run-looks)))
    (when (buffer-live-p buffer)
      (with-current-buffer buffer
        (let ((overlay (constellation--call-overlay call)))
          (unless (or overlay (> (constellation--call-line call) (count-lines (point-min) (point-max))))
            (save-excursion
              (goto-char (point-min))
              (forward-line (1- (constellation--call-line call)))
              (setq overlay (make-overlay (line-beginning-position) (line-end-position) nil t nil))
              (overlay-put overlay 'constellation-run t)
              (overlay-put overlay 'evaporate t)
              (setf (constellation--call-overlay call) overlay)))
          (when (and overlay (overlay-buffer overlay))
            (overlay-put overlay 'constellation-state (constellation--call-state call))
            (overlay-put overlay 'constellation-name (constellation--call-name call))
            (overlay-put overlay 'after-string
                         (propertize (format "  %s %s" (nth 1 look)
                                             (constellation--call-text call run))
                                     'face (nth 2 look)))))))))

(defun constellation--draw-run (run)
  "Redraw the calls of RUN that changed (and the running ones: their time ticks)."
  (setf (constellation--marks-frame run) nil)
  (let (ticking)
    (maphash (lambda (_ call)
               (when (or (constellation--call-dirty call)
                         (equal (constellation--call-state call) "running"))
                 (setf (constellation--call-dirty call) nil)
                 (constellation--draw-call run call))
               (when (and (equal (constellation--call-state call) "running")
                          (not (constellation--marks-finished run)))
                 (setq ticking t)))
             (constellation--marks-calls run))
    (cond ((and ticking (not (constellation--marks-ticker run)))
           (setf (constellation--marks-ticker run)
                 (run-with-timer 0.25 0.25 (lambda () (unless (constellation--marks-frame run)
                                                         (constellation--draw-run run))))))
          ((and (not ticking) (constellation--marks-ticker run))
           (cancel-timer (constellation--marks-ticker run))
           (setf (constellation--marks-ticker run) nil)))))

(defun constellation--request-frame (run now)
  "Redraw RUN in the next 50 ms frame, or at once when NOW."
  (if now
      (progn (when (constellation--marks-frame run) (cancel-timer (constellation--marks-frame run)))
             (constellation--draw-run run))
    (unless (constellation--marks-frame run)
      (setf (constellation--marks-frame run)
            (run-with-timer 0.05 nil (lambda () (constellation--draw-run run)))))))

(defun constellation-clear-run-marks (&optional buffer)
  "Remove the run marks of BUFFER (default: the current one)."
  (interactive)
  (let ((buffer (or buffer (current-buffer))))
    (maphash (lambda (uri run)
               (when (eq (constellation--marks-buffer run) buffer)
                 (dolist (timer (list (constellation--marks-frame run) (constellation--marks-ticker run)))
                   (when timer (cancel-timer timer)))
                 (remhash uri constellation--runs)))
             constellation--runs)
    (when (buffer-live-p buffer)
      (with-current-buffer buffer
        (remove-overlays (point-min) (point-max) 'constellation-run t)))))

(defun constellation--run-call (run event)
  "The call of RUN that EVENT is about, created on its first event."
  (let* ((node (plist-get event :node))
         (key (if node (format "%s" node) (plist-get event :name)))
         (call (and key (gethash key (constellation--marks-calls run)))))
    (when (and key (not call) (numberp (plist-get event :line)) (not (constellation--marks-finished run)))
      (setq call (make-constellation--call :name (or (plist-get event :name) key)
                                           :layer (plist-get event :layer)
                                           :line (plist-get event :line) :state "pending"))
      (puthash key call (constellation--marks-calls run)))
    (when call (setf (constellation--call-dirty call) t))
    call))

(defun constellation--message-of (error)
  "The message of an ERROR plist, or ERROR itself."
  (if (and (listp error) (plist-get error :message)) (plist-get error :message) error))

(defun constellation--mark-run-event (event)
  "Show one run EVENT on its document's lines."
  (let* ((uri (plist-get event :uri))
         (kind (plist-get event :event))
         (buffer (and (stringp uri) (constellation--uri-buffer uri))))
    (when buffer
      (when (member kind '("run_started" "run_rejected"))
        (constellation-clear-run-marks buffer)
        (when (equal kind "run_started")
          (puthash uri (make-constellation--marks :buffer buffer) constellation--runs)))
      (let ((run (gethash uri constellation--runs)))
        (when run
          (when (numberp (plist-get event :t_ms))
            (setf (constellation--marks-clock run) (cons (plist-get event :t_ms) (float-time))))
          (if (equal kind "run_started")
              (seq-doseq (call (plist-get event :calls)) (constellation--run-call run call))
            (let ((call (and (string-prefix-p "node_" kind) (constellation--run-call run event))))
              (when call
                (pcase kind
                  ("node_started"
                   (setf (constellation--call-state call) "running"
                         (constellation--call-started-at call) (plist-get event :t_ms)
                         (constellation--call-attempt call) (or (plist-get event :attempt) 1)))
                  ("node_retrying"
                   (setf (constellation--call-state call) "retrying"
                         (constellation--call-attempt call)
                         (1+ (or (plist-get event :attempt) (constellation--call-attempt call)))
                         (constellation--call-retry-error call)
                         (constellation--message-of (plist-get event :error))))
                  ("node_completed"
                   (setf (constellation--call-state call)
                         (if (eq (plist-get event :cache_hit) t) "cached" "completed")
                         (constellation--call-duration call) (plist-get event :duration_ms)
                         (constellation--call-value call) (plist-get event :value)
                         (constellation--call-has-value call) (plist-member event :value)))
                  ("node_failed"
                   (setf (constellation--call-state call) "failed"
                         (constellation--call-duration call) (plist-get event :duration_ms)
                         (constellation--call-error call)
                         (constellation--message-of (plist-get event :error))))
                  ("node_skipped"
                   (setf (constellation--call-state call) "skipped"
                         (constellation--call-reason call) (plist-get event :reason)
                         (constellation--call-dependency call) (plist-get event :dependency)))
                  ("node_cancelled"
                   (setf (constellation--call-state call) "cancelled"
                         (constellation--call-duration call) (plist-get event :duration_ms))))))
            (when (equal kind "run_completed")
              (setf (constellation--marks-finished run) t)
              ;; the values go: the inlay hints show them now
              (maphash (lambda (_ call) (setf (constellation--call-dirty call) t))
                       (constellation--marks-calls run))))
          (constellation--request-frame
           run (or (constellation--marks-finished run) (equal kind "run_started"))))))))

(defun constellation--on-run-event (event)
  "Format one run EVENT (a plist, see docs/run-events.md).
It goes to the run buffer of its document."
  (constellation--mark-run-event event)
  (let* ((name (plist-get event :name))
         (buffer (constellation--run-buffer (or (plist-get event :uri) "pipeline")))
         (say (lambda (line) (constellation--append buffer (list line)))))
    (pcase (plist-get event :event)
      ("run_started"
       (funcall say (format "▶ %s · %s in %s" (file-name-nondirectory (plist-get event :file))
                            (constellation--plural (plist-get event :nodes) "call")
                            (constellation--plural (plist-get event :depth) "layer"))))
      ("layer_started" (funcall say (format "layer %s started" (plist-get event :layer))))
      ("node_started" (funcall say (format "  ▷ %s" name)))
      ("node_retrying"
       (funcall say (format "  ↻ %s attempt %s failed: %s" name
                            (plist-get event :attempt) (plist-get event :error))))
      ("node_completed"
       (funcall say (format "  ✓ %s = %s (%s)" name
                            (constellation--json (plist-get event :value))
                            (constellation--ms (plist-get event :duration_ms)))))
      ("node_failed"
       (funcall say (format "  ✗ %s failed: %s" name (plist-get (plist-get event :error) :message))))
      ("node_skipped" (funcall say (format "  ⊘ %s skipped: %s" name (plist-get event :reason))))
      ("node_cancelled"
       (funcall say (format "  ⊘ %s cancelled after %s" name
                            (constellation--ms (plist-get event :duration_ms)))))
      ("layer_completed"
       (funcall say (format "layer %s completed in %s" (plist-get event :layer)
                            (constellation--ms (plist-get event :duration_ms)))))
      ("layer_cancelled"
       (funcall say (format "layer %s cancelled after %s" (plist-get event :layer)
                            (constellation--ms (plist-get event :duration_ms)))))
      ("log" (funcall say (format "log: %s" (plist-get event :message))))
      ("run_completed"
       (funcall say (format "■ run %s in %s" (plist-get event :status)
                            (constellation--ms (plist-get event :duration_ms))))))))

(defun constellation--send-edits ()
  "Send the edits eglot still holds back until Emacs is idle.
A run or a layers listing asked for right after typing must see
the text as it is."
  (when (fboundp 'eglot--signal-textDocument/didChange)
    (eglot--signal-textDocument/didChange)))

(defun constellation--execute (command argument callback)
  "Send `workspace/executeCommand' COMMAND with ARGUMENT.
CALLBACK receives the result."
  (require 'eglot)
  (constellation--send-edits)
  (jsonrpc-async-request (eglot--current-server-or-lose) :workspace/executeCommand
                         (list :command command :arguments (vector argument))
                         :success-fn callback
                         :error-fn (lambda (error)
                                     (message "Constellation: %s failed: %s" command
                                              (plist-get error :message)))
                         :timeout 3600))

(defun constellation--uri ()
  "The URI of the current buffer's file."
  (eglot--path-to-uri (buffer-file-name)))

(defun constellation--parse-input (text)
  "TEXT as a typed value: JSON when it is JSON (42, true, [1, 2]), else the text."
  (condition-case nil
      (let ((json-object-type 'plist) (json-array-type 'vector))
        (json-read-from-string text))
    (error text)))

(defun constellation--read-inputs ()
  "Ask for each input of this pipeline; a plist of names and values."
  (require 'eglot)
  (constellation--send-edits)
  (let* ((layers (jsonrpc-request (eglot--current-server-or-lose) :workspace/executeCommand
                                  (list :command "constellation.showLayers"
                                        :arguments (vector (list :uri (constellation--uri))))))
         (inputs nil))
    (seq-doseq (layer (plist-get layers :layers))
      (seq-doseq (node (plist-get layer :nodes))
        (when (equal (plist-get node :kind) "input")
          (let ((name (plist-get node :name)))
            (setq inputs (plist-put inputs (intern (concat ":" name))
                                    (constellation--parse-input
                                     (read-string (format "%s (JSON or text): " name)))))))))
    inputs))

;;;###autoload
(defun constellation-run-pipeline (&optional use-examples)
  "Run the pipeline of this buffer (unsaved edits included), asking for its inputs.
With a prefix argument USE-EXAMPLES, use the @example values of the inputs."
  (interactive "P")
  (let ((inputs (unless use-examples (constellation--read-inputs))))
    (constellation--append (constellation--run-buffer (constellation--uri))
                           (list (format "Running %s%s…" (buffer-file-name)
                                         (if use-examples " with examples" "")))
                           t)
    (constellation--start-run use-examples inputs)))

(defvar-local constellation--report nil
  "The report page of this buffer's last run (`cst run --report', written by the server's run).")

(defun constellation--start-run (use-examples inputs)
  "Send the run request, with USE-EXAMPLES or the INPUTS plist."
  (let ((buffer (constellation--run-buffer (constellation--uri)))
        (source (current-buffer)))
    (constellation--execute
     "constellation.runPipeline"
     ;; :report t: the run also writes its report page, for `constellation-report'
     (append (list :uri (constellation--uri) :useExamples (if use-examples t :json-false) :report t)
             (when inputs (list :inputs inputs)))
     (lambda (result)
       (when (buffer-live-p source)
         (with-current-buffer source
           (setq constellation--report (plist-get result :report))))
       (let ((lines (list "Outputs:" "")))
         (cl-loop for (key value) on (plist-get result :outputs) by #'cddr
                  do (push (format "  %s = %s" (substring (symbol-name key) 1)
                                   (constellation--json value t))
                           lines))
         (seq-doseq (error (plist-get result :errors))
           (let ((line (plist-get error :line)))
             (push (if line
                       (format "Error: %s (line %s)" (plist-get error :message) line)
                     (format "Error: %s" (plist-get error :message)))
                   lines)))
         (push (format "Status: %s in %s" (plist-get result :status)
                       (constellation--ms (plist-get result :duration_ms)))
               lines)
         (constellation--append buffer (nreverse lines)))))))

(defun constellation-cancel-run ()
  "Cancel the running pipeline of this buffer."
  (interactive)
  (constellation--execute "constellation.cancelRun" (list :uri (constellation--uri)) #'ignore))

(defun constellation-show-layers ()
  "List the layers of this pipeline: which calls run together."
  (interactive)
  (let ((buffer (constellation--run-buffer (constellation--uri))))
   (constellation--execute
   "constellation.showLayers" (list :uri (constellation--uri))
   (lambda (result)
     (constellation--append
      buffer
      (cons "Layers:"
            (seq-map (lambda (layer)
                       (format "  layer %s: %s" (plist-get layer :layer)
                               (mapconcat (lambda (node) (plist-get node :name))
                                          (plist-get layer :nodes) ", ")))
                     (plist-get result :layers)))
      t)))))

(defun constellation--cst-command ()
  "The `cst' command prefix: `constellation-server-command' without its \"lsp\"."
  (let ((command constellation-server-command))
    (if (equal (car (last command)) "lsp") (butlast command) command)))

;;;###autoload
(defun constellation-graph ()
  "Show the graph of this pipeline's layers in the browser.
Writes `cst graph --format html' of the buffer (unsaved edits included)
to a temporary file, opens it with `browse-url-of-file' and returns its
name.  `cst graph' reads the workspace's modules, so the workspace must
be trusted."
  (interactive)
  (unless (constellation--trusted-p (constellation--root))
    (user-error "Constellation: the graph reads the workspace's modules; trust it first (M-x constellation-trust-workspace)"))
  (let* ((file (make-temp-file "constellation-graph-" nil ".html"))
         (command (constellation--cst-command))
         (source (buffer-file-name))
         (default-directory (if source (file-name-directory source) default-directory))
         (output (generate-new-buffer " *constellation-graph*"))
         (status (apply #'call-process-region (point-min) (point-max) (car command) nil output nil
                        (append (cdr command)
                                (list "graph" "-" "--stdin-filename" (or source "graph.cst")
                                      "--format" "html" "-o" file)))))
    (unwind-protect
        (unless (eql status 0)
          (delete-file file)
          (user-error "Constellation: %s" (string-trim (with-current-buffer output (buffer-string)))))
      (kill-buffer output))
    (browse-url-of-file file)
    file))

;;;###autoload
(defun constellation-report ()
  "Show the report of this buffer's last run in the browser.
The page `cst run --report' writes (the graph with each call's state,
the timeline with its critical path, the values), written by the
server's run; opened with `browse-url-of-file'.  Returns its name."
  (interactive)
  (unless (and constellation--report (file-readable-p constellation--report))
    (user-error "Constellation: no report yet: run the pipeline first (M-x constellation-run-pipeline)"))
  (browse-url-of-file constellation--report)
  constellation--report)

(provide 'constellation)
;;; constellation.el ends here
