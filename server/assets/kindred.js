// Kindred's one script: live updates for signed-in pages. Everything works without it;
// it only makes new posts, replies and reactions appear without reloading, and tells
// screen-reader users politely through the live region. Content arrives as server-rendered
// fragments, so all escaping stays on the server.
(function () {
  "use strict";
  var body = document.body;
  if (!body || body.getAttribute("data-signed-in") !== "yes") return;
  var topic = body.getAttribute("data-topic");
  var thread = body.getAttribute("data-thread");
  var region = document.getElementById("live-region");
  var retry = 1000;

  // On phones the main menu folds behind a "Menu" button (the links stay in the page
  // without a script, and on wider screens).
  var nav = document.querySelector("nav.main");
  var toggle = nav && nav.querySelector(".menu-toggle");
  if (toggle) {
    toggle.hidden = false;
    var fold = function (folded) {
      nav.classList.toggle("folded", folded);
      toggle.setAttribute("aria-expanded", folded ? "false" : "true");
    };
    fold(true);
    toggle.addEventListener("click", function () { fold(!nav.classList.contains("folded")); });
  }

  // A form that writes carries a key of its own (made at its first sending and kept), so
  // sending it twice (a double click, a reload after a timeout, the back button) writes
  // once: the node answers a repeat with its first answer.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form || (form.method || "").toLowerCase() !== "post" || form.elements._idem) return;
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = "_idem";
    input.value = window.crypto && crypto.randomUUID
      ? crypto.randomUUID()
      : Date.now().toString(16) + Math.random().toString(16).slice(2);
    form.appendChild(input);
  }, true);

  // Changed after it was sent (back to the page, the text edited): a new request, so a
  // new key at its next sending.
  document.addEventListener("input", function (e) {
    var form = e.target && e.target.form;
    var key = form && form.querySelector("input[name=_idem]");
    if (key) key.remove();
  }, true);

  // Copy buttons need a script (and a secure context), so they start hidden; the field is
  // read-only and selectable either way.
  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (b) {
    var field = document.getElementById(b.getAttribute("data-copy"));
    if (!field) return;
    field.addEventListener("focus", function () { field.select(); });
    if (!navigator.clipboard) return;
    b.hidden = false;
    b.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        b.textContent = "Copied";
        announce("Copied.");
      }, function () { field.focus(); });
    });
  });

  var lastAnnounced = 0;
  function announce(text) {
    if (!region) return;
    lastAnnounced = Date.now();
    // Replace rather than append so each message is read once.
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  function fragment(id) {
    return fetch("/fragments/posts/" + encodeURIComponent(id), {
      credentials: "same-origin",
      headers: { "Accept": "text/html" }
    }).then(function (r) { return r.ok ? r.text() : null; });
  }

  // Inserts a fragment; returns how the node labels it for this reader (a title, or
  // its warning when it is under one, folded away or hidden), to announce.
  function insert(list, html, atTop) {
    var holder = document.createElement("template");
    holder.innerHTML = html.trim();
    var item = holder.content.firstElementChild;
    if (!item || document.getElementById(item.id)) return null;
    var label = item.getAttribute("data-label");
    item.classList.add("fresh");
    if (atTop) list.insertBefore(item, list.firstChild); else list.appendChild(item);
    var empty = document.getElementById("empty-note");
    if (empty) empty.remove();
    return label;
  }

  function onNew(post) {
    var who = post.author_name + " (" + post.organisation + ")";
    if (thread && post.thread_root === thread) {
      var replies = document.getElementById("replies");
      if (!replies) return;
      fragment(post.id).then(function (html) {
        if (html) insert(replies, html, false);
        announce("New reply from " + who + ".");
      });
    } else if (topic && post.kind === "post" && post.topic === topic) {
      var posts = document.getElementById("posts");
      if (!posts) return;
      fragment(post.id).then(function (html) {
        // The label comes from the node, which knows this reader's mutes and blocks.
        var label = html ? insert(posts, html, true) : null;
        if (label !== null) announce("New post in " + topic + ": " + label + ", by " + who + ".");
      });
    } else if (body.getAttribute("data-home") === "yes" && post.kind === "post") {
      var fresh = document.getElementById("fresh-posts");
      if (!fresh) return;
      fragment(post.id).then(function (html) {
        var label = null;
        if (html) { fresh.hidden = false; label = insert(document.getElementById("fresh-list"), html, true); }
        if (label !== null) announce("New post in " + post.topic + ": " + label + ", by " + who + ".");
      });
    }
  }

  function onReactions(id, reactions) {
    var box = document.querySelector('[data-reactions-for="' + CSS.escape(id) + '"]');
    if (!box) return;
    reactions.forEach(function (r) {
      var button = box.querySelector('button[value="' + CSS.escape(r.reaction) + '"]');
      if (!button) return;
      var count = button.querySelector(".count");
      if (count) count.textContent = String(r.count);
      button.setAttribute("aria-pressed", r.mine ? "true" : "false");
      var action = button.form && button.form.querySelector('input[name="action"]');
      if (action) action.value = r.mine ? "remove" : "add";
    });
  }

  function onRetracted(id) {
    var item = document.getElementById("post-" + id);
    if (item) { item.remove(); announce("A post or reply was taken down by its author or a moderator."); }
  }

  var conversation = body.getAttribute("data-conversation");
  var me = null;

  function csrf() {
    var field = document.querySelector('input[name="_csrf"]');
    return field ? field.value : "";
  }

  // A message that arrived while the tab was hidden is marked read when it is shown.
  var unreadWhileHidden = null;
  function markRead(id) {
    fetch("/chat/" + encodeURIComponent(conversation) + "/read", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "_csrf=" + encodeURIComponent(csrf()) + "&up_to=" + encodeURIComponent(id)
    });
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && unreadWhileHidden && conversation) {
      markRead(unreadWhileHidden);
      unreadWhileHidden = null;
    }
  });

  // Redraws a shown message with its "Seen by" line (the node says who has read up to it).
  function refreshSeen(id) {
    if (!document.getElementById("message-" + id)) return;
    fetch("/fragments/messages/" + encodeURIComponent(conversation) + "/" + encodeURIComponent(id), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var holder = document.createElement("template");
        holder.innerHTML = html.trim();
        var fresh = holder.content.firstElementChild;
        if (!fresh || !fresh.querySelector(".seen")) return;
        document.querySelectorAll("#messages .seen").forEach(function (p) { p.remove(); });
        var current = document.getElementById("message-" + id);
        if (current) current.replaceWith(fresh);
      });
  }

  // Messages that came while the member was not looking: the Chat link says "new" (as
  // the node draws it on the next page) and the title counts them, so a tab in the
  // background shows it. The count goes when the member comes back to this page.
  var baseTitle = document.title.replace(/^\(\d+\) /, "");
  var unseen = 0;
  function unseenMessage() {
    unseen += 1;
    setTitle();
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && conversation && unseen) {
      unseen = 0;
      setTitle();
    }
  });
  function chatBadge() {
    var link = document.querySelector('nav.main a[href="/chat"]');
    if (!link || link.querySelector(".badge")) return;
    var badge = document.createElement("span");
    badge.className = "badge unread";
    badge.textContent = "new";
    link.appendChild(document.createTextNode(" "));
    link.appendChild(badge);
  }

  // The Notifications link's unread count, as the node draws it; a new one is announced
  // unless the page just announced it (a reply in this thread).
  var noteLink = document.querySelector("a.notifications-link");
  var lastUnread = noteLink && noteLink.querySelector(".badge") ? parseInt(noteLink.textContent.replace(/\D+/g, ""), 10) || 0 : 0;
  function onNotifications(unread) {
    if (!noteLink) return;
    var badge = noteLink.querySelector(".badge");
    if (!unread) { if (badge) badge.remove(); }
    else {
      if (!badge) {
        badge = document.createElement("span");
        badge.className = "badge unread";
        noteLink.append(" ", badge);
      }
      badge.textContent = (unread > 99 ? "99+" : unread) + " new";
      if (unread > lastUnread && Date.now() - lastAnnounced > 3000) announce("You have " + unread + " new notification" + (unread > 1 ? "s." : "."));
    }
    lastUnread = unread;
    setTitle();
  }
  // The title counts unread notifications and messages that came while away.
  function setTitle() {
    var n = unseen + lastUnread;
    document.title = n ? "(" + n + ") " + baseTitle : baseTitle;
  }

  // Runs `then` unless the member muted the conversation (the node's list says so).
  function unlessMuted(id, then) {
    fetch("/fragments/conversations", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var list = new DOMParser().parseFromString(html, "text/html");
        var link = list.querySelector('a[href="/chat/' + id + '"]');
        var line = link && link.parentElement;
        var muted = line && Array.prototype.some.call(line.querySelectorAll(".badge"), function (b) {
          return b.textContent === "Muted";
        });
        if (!muted) then();
      });
  }

  function onMessage(message) {
    var who = message.author_name;
    if (message.author !== me && !(conversation && message.conversation === conversation && document.visibilityState === "visible")) {
      unlessMuted(message.conversation, function () {
        unseenMessage();
        if (conversation && message.conversation === conversation) return;
        chatBadge();
        // The chat list and the conversation say so themselves (below).
        if (!conversation && body.getAttribute("data-chat-list") !== "yes") announce("New message from " + who + ".");
      });
    }
    if (conversation && message.conversation === conversation) {
      var list = document.getElementById("messages");
      if (!list) return;
      fetch("/fragments/messages/" + encodeURIComponent(conversation) + "/" + encodeURIComponent(message.id), {
        credentials: "same-origin"
      }).then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
        if (!html) return;
        insert(list, html, false);
        var none = document.getElementById("no-messages");
        if (none) none.remove();
        if (message.author !== me) announce("New message from " + who + ".");
        if (document.visibilityState === "visible") markRead(message.id);
        else unreadWhileHidden = message.id;
      });
    } else if (body.getAttribute("data-chat-list") === "yes") {
      refreshConversations();
      if (message.author !== me) announce("New message from " + who + ".");
    }
  }

  function refreshConversations() {
    var current = document.getElementById("conversations");
    if (!current) return;
    fetch("/fragments/conversations", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var holder = document.createElement("template");
        holder.innerHTML = html.trim();
        var fresh = holder.content.firstElementChild;
        if (fresh) current.replaceWith(fresh);
        var none = document.getElementById("no-conversations");
        if (none && fresh && fresh.children.length) none.remove();
      });
  }

  var STATUS_WORDS = {
    pending: "A new request is waiting for an answer.",
    active: "Matched: the request was accepted.",
    declined: "The mentor said not this time.",
    no_longer_available: "The mentor's places were taken.",
    expired: "The request expired without an answer.",
    withdrawn: "The request was taken back.",
    closed: "The match has ended."
  };

  // Swaps part of the page for the same part of a fresh copy, without a reload.
  function refreshFrom(url, selector, then) {
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector(selector);
        var current = document.querySelector(selector);
        if (fresh && current) { current.replaceWith(fresh); if (then) then(); }
      });
  }

  function onMatch(update) {
    var words = STATUS_WORDS[update.status] || "A mentoring match changed.";
    if (body.getAttribute("data-match") === update.id) {
      // A change of status redraws the page; a change to the agreement only its section,
      // so nothing being typed elsewhere is lost.
      var agreement = update.agreement || "";
      if (body.getAttribute("data-match-status") !== update.status) {
        body.setAttribute("data-match-status", update.status);
        body.setAttribute("data-agreement", agreement);
        refreshFrom(location.pathname, "#match-detail", function () { announce(words); });
      } else if (body.getAttribute("data-agreement") !== agreement) {
        body.setAttribute("data-agreement", agreement);
        var confirmed = /\+confirmed$/.test(agreement);
        refreshFrom(location.pathname, "#agreement", function () {
          announce(confirmed ? "The agreement was confirmed." : "A new agreement was proposed.");
        });
      }
    } else if (body.getAttribute("data-mentoring") === "yes") {
      refreshFrom("/mentoring", "#current-matches", function () { announce(words); });
    } else {
      // Elsewhere: the navigation as the node draws it now ("new" on Mentoring while an
      // answer is waited for), and a word in the live region.
      refreshFrom("/mentoring", "#main-menu", function () { announce(words); });
    }
  }

  // The parts of a page that live updates change. After the node skipped updates during a
  // burst ("resync"), after a reconnect, or after a burst this script chose not to fetch
  // one by one, they are read again from a fresh copy of the page in one request, so
  // nothing is missed and nothing is reloaded (a half-written reply stays as it is).
  var POST_PARTS = ["#posts", "#replies", "#fresh-posts", "#home-topics"];
  var LIVE_PARTS = POST_PARTS.concat(["#messages", "#conversations", "#current-matches",
    "a.notifications-link"]);
  var lastResyncWords = 0;
  var resyncTries = 0;
  // postsOnly: the node skipped only posts (a catch-up, a flood) and sent chat and the
  // rest; a page that shows no posts has nothing to read again.
  function resync(postsOnly) {
    var parts = postsOnly ? POST_PARTS : LIVE_PARTS;
    if (!parts.some(function (selector) { return document.querySelector(selector); })) return;
    // Messages shown live while the fresh copy is on its way are newer than it: kept.
    var shownBefore = {};
    document.querySelectorAll("#messages > li[id]").forEach(function (li) { shownBefore[li.id] = true; });
    function again() {
      // A busy node or a dropped connection: tried again a few times, a little later.
      if (resyncTries < 3) {
        resyncTries += 1;
        window.setTimeout(function () { resync(postsOnly); }, 2000 + Math.random() * 3000);
      }
    }
    fetch(location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) { again(); return; }
        resyncTries = 0;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        parts.forEach(function (selector) {
          var part = fresh.querySelector(selector);
          var current = document.querySelector(selector);
          if (!part || !current) return;
          if (selector === "#messages") {
            current.querySelectorAll(":scope > li[id]").forEach(function (li) {
              if (!shownBefore[li.id] && !part.querySelector("#" + CSS.escape(li.id))) part.appendChild(li);
            });
          }
          current.replaceWith(part);
        });
        noteLink = document.querySelector("a.notifications-link");
        if (Date.now() - lastResyncWords > 60000) {
          lastResyncWords = Date.now();
          announce("New activity arrived; this page is up to date.");
        }
      }, again);
  }

  // More than this many new posts or messages in a second is a burst (a busy chat, a
  // catch-up from a new partner organisation): one re-read of the page a second later
  // instead of a request per update, which would flood a phone's connection.
  var BURST = 20;
  var burst = { second: 0, count: 0, timer: null };
  function inBurst() {
    var now = Math.floor(Date.now() / 1000);
    if (now !== burst.second) { burst.second = now; burst.count = 0; }
    burst.count += 1;
    if (burst.count <= BURST) return false;
    if (!burst.timer) burst.timer = window.setTimeout(function () { burst.timer = null; resync(); }, 1000);
    return true;
  }

  var connectedBefore = false;
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + "/api/v1/stream");
    // data-live says whether live updates are on (for assistive styling and tests).
    ws.onopen = function () {
      retry = 1000;
      document.documentElement.setAttribute("data-live", "connected");
      // Whatever happened while the stream was down is read again.
      if (connectedBefore) resync();
      connectedBefore = true;
    };
    ws.onmessage = function (e) {
      var m;
      try { m = JSON.parse(e.data); } catch (err) { return; }
      if (m.type === "ready") {
        me = m.member;
        // Read positions that moved while this page was loading (its socket was not yet
        // open) would otherwise be missed: ask for the newest message's "Seen by" once.
        var newest = document.querySelector("#messages > li:last-child");
        if (conversation && newest) refreshSeen(newest.id.replace(/^message-/, ""));
      }
      // Every open page is told at once: spread over a second, not all in the same instant.
      else if (m.type === "resync") window.setTimeout(function () { resync(m.posts_only); }, Math.random() * 1000);
      else if (m.type === "new") { if (!inBurst()) onNew(m.post); }
      else if (m.type === "message") { if (!inBurst()) onMessage(m.message); }
      else if (m.type === "match") onMatch(m);
      else if (m.type === "notifications") onNotifications(m.unread);
      else if (m.type === "message_edited" && m.message.conversation === conversation) {
        var old = document.getElementById("message-" + m.message.id);
        if (old) {
          fetch("/fragments/messages/" + encodeURIComponent(conversation) + "/" + encodeURIComponent(m.message.id), { credentials: "same-origin" })
            .then(function (r) { return r.ok ? r.text() : null; })
            .then(function (html) {
              if (!html) return;
              var holder = document.createElement("template");
              holder.innerHTML = html.trim();
              if (holder.content.firstElementChild) old.replaceWith(holder.content.firstElementChild);
            });
        }
      } else if (m.type === "read_marker" && m.conversation === conversation && m.member !== me) {
        refreshSeen(m.up_to);
      } else if (m.type === "message_retracted" && m.conversation === conversation) {
        var gone = document.getElementById("message-" + m.id);
        if (gone) { gone.remove(); announce("A message was taken back."); }
      }
      else if (m.type === "conversation" && body.getAttribute("data-chat-list") === "yes") refreshConversations();
      else if (m.type === "reactions") onReactions(m.id, m.reactions);
      else if (m.type === "retracted") onRetracted(m.id);
    };
    ws.onclose = function (e) {
      document.documentElement.setAttribute("data-live", "closed");
      if (e.code === 4001) return; // Session ended: the next page load asks to sign in.
      window.setTimeout(connect, retry);
      retry = Math.min(retry * 2, 60000);
    };
  }

  if ("WebSocket" in window && "fetch" in window) connect();
})();
