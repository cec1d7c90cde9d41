// The book's two editions: English at the root of the built book
// (docs/book/), Chinese in zh-CN/ below it (po/i18n.sh build). The same page
// has the same path below each root, so the picker links a page to itself
// in the other edition. The Chinese edition also shows, below each figure,
// the figure's alt text, translated in po/zh-CN.po: the words drawn in the
// figures are English, and that text says in Chinese what each shows.
(function () {
    var editions = [
        { lang: "en", label: "English", below: "" },
        { lang: "zh-CN", label: "中文", below: "zh-CN/" },
    ];
    var here = document.documentElement.lang;
    var current = editions.filter(function (edition) {
        return edition.lang === here;
    })[0] || editions[0];

    // path_to_root is mdBook's, from this page to its edition's root ("" on
    // a page at the root, which is then "./": the page's directory).
    var up = typeof path_to_root === "string" ? path_to_root : "";
    var root = new URL(up || "./", location.href);
    var page = location.pathname.startsWith(root.pathname)
        ? location.pathname.slice(root.pathname.length)
        : "";
    var base = current.below ? new URL("../", root) : root;

    var picker = document.createElement("span");
    picker.className = "language-picker";
    picker.setAttribute("role", "navigation");
    picker.setAttribute("aria-label", "Language / 语言");
    editions.forEach(function (edition, index) {
        if (index > 0) {
            picker.appendChild(document.createTextNode(" / "));
        }
        var link = document.createElement("a");
        link.textContent = edition.label;
        link.lang = edition.lang;
        link.hreflang = edition.lang;
        link.href = new URL(edition.below + page, base).href + location.hash;
        if (edition === current) {
            link.setAttribute("aria-current", "page");
        }
        picker.appendChild(link);
    });
    var buttons = document.querySelector("#mdbook-menu-bar .right-buttons");
    if (buttons) {
        buttons.insertBefore(picker, buttons.firstChild);
    }

    if (current.lang === "en") {
        return;
    }
    var legendTitle = { "zh-CN": "图解：图中英文的中文说明" }[current.lang];
    // mdBook shows each image twice (inline, and zoomed when clicked): one
    // legend per figure.
    var explained = [];
    document.querySelectorAll("main img").forEach(function (image) {
        var alt = image.getAttribute("alt");
        var source = image.getAttribute("src") || "";
        if (!alt || !/(^|\/)(figures|runs)\//.test(source) || explained.indexOf(source) >= 0) {
            return;
        }
        explained.push(source);
        var legend = document.createElement("details");
        legend.className = "figure-legend";
        legend.open = true;
        var summary = document.createElement("summary");
        summary.textContent = legendTitle;
        var text = document.createElement("p");
        text.textContent = alt;
        legend.appendChild(summary);
        legend.appendChild(text);
        var paragraph = image.closest("p") || image;
        paragraph.parentNode.insertBefore(legend, paragraph.nextSibling);
    });
})();
