// Transcripts (```text blocks) wrap a line too long for the column (a
// strace line, a shell loop) instead of making the reader scroll sideways.
// Each line becomes its own block with a hanging indent, so a wrapped line
// reads as one. The copy button still copies the lines as they were.
(function () {
    document.querySelectorAll("pre > code.language-text").forEach(function (code) {
        var text = code.textContent;
        code.dataset.transcript = text;
        code.textContent = "";
        text.replace(/\n$/, "").split("\n").forEach(function (line) {
            var span = document.createElement("span");
            span.className = "transcript-line";
            span.textContent = line;
            code.appendChild(span);
        });
        code.classList.add("transcript");
    });

    // book.js's copy button asks playground_text for a block's text; an
    // empty line, now an empty block, would be lost from its innerText.
    var playgroundText = window.playground_text;
    if (typeof playgroundText === "function") {
        window.playground_text = function (playground, hidden) {
            var code = playground.querySelector("code.transcript");
            if (code) {
                return code.dataset.transcript;
            }
            return playgroundText.apply(this, arguments);
        };
    }
})();
