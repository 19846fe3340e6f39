/*
 * assist embed script. On a customer's page:
 *
 *   <script src="https://ASSIST_HOST/embed.js" data-organization-id="org_..." async></script>
 *
 * Adds a launcher button and, when it is first opened, an iframe with the widget page
 * (/widget?organizationId=...) from the same origin as this script. Messages are accepted only
 * from that iframe and that origin: `close`, `resize` ({height}), and `session.load|save|clear`
 * where the browser refuses the frame its own storage. The page drives it through window.AssistWidget:
 * show(), hide(), destroy(). Everything lives in a shadow root, so the page's CSS and ours
 * cannot touch each other.
 */
(function () {
  'use strict';

  var script = document.currentScript;
  if (!script || !script.src) {
    console.error('[assist] load embed.js with a classic <script src="…/embed.js"> tag');
    return;
  }
  if (window.AssistWidget) {
    console.warn('[assist] embed.js is on this page twice; the first one stays');
    return;
  }
  var organizationId = (script.getAttribute('data-organization-id') || '').trim();
  if (!organizationId) {
    console.error('[assist] embed.js needs data-organization-id="org_…" on its <script> tag');
    return;
  }
  var widgetOrigin = new URL(script.src, location.href).origin;
  var requestedPosition = script.getAttribute('data-position');
  if (requestedPosition && requestedPosition !== 'bottom-right' && requestedPosition !== 'bottom-left') {
    console.warn('[assist] data-position must be bottom-right or bottom-left; using the widget settings');
    requestedPosition = null;
  }

  var CHAT_ICON = '<svg viewBox="0 0 24 24" width="26" height="26" aria-hidden="true"><path fill="currentColor" d="M12 3C6.5 3 2 6.9 2 11.7c0 2.5 1.2 4.7 3.2 6.3-.2 1.5-.9 2.9-2 4 2.2-.1 4.2-.9 5.7-2.1 1 .3 2 .4 3.1.4 5.5 0 10-3.9 10-8.6S17.5 3 12 3z"/></svg>';
  var CLOSE_ICON = '<svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true"><path fill="currentColor" d="M18.3 5.7a1 1 0 0 0-1.4 0L12 10.6 7.1 5.7a1 1 0 1 0-1.4 1.4l4.9 4.9-4.9 4.9a1 1 0 1 0 1.4 1.4l4.9-4.9 4.9 4.9a1 1 0 0 0 1.4-1.4L13.4 12l4.9-4.9a1 1 0 0 0 0-1.4z"/></svg>';
  var STYLE = [
    ':host { all: initial; }',
    '.launcher { position: fixed; bottom: 20px; width: 56px; height: 56px; border: 0; border-radius: 50%;',
    '  display: flex; align-items: center; justify-content: center; cursor: pointer; padding: 0;',
    '  background: var(--assist-primary, #4f46e5); color: var(--assist-on-primary, #fff);',
    '  box-shadow: 0 6px 20px rgba(0,0,0,.25); z-index: 2147483000; transition: transform .15s ease; }',
    '.launcher:hover { transform: scale(1.06); }',
    '.launcher:focus-visible { outline: 3px solid rgba(0,0,0,.35); outline-offset: 3px; }',
    '.frame { position: fixed; bottom: 88px; width: 380px; height: 560px; max-height: calc(100vh - 108px);',
    '  border: 0; border-radius: 16px; overflow: hidden; background: transparent; z-index: 2147483000;',
    '  box-shadow: 0 12px 40px rgba(0,0,0,.28); transition: height .2s ease; display: none; }',
    '.frame.open { display: block; }',
    '.frame iframe { width: 100%; height: 100%; border: 0; display: block; }',
    '.right { right: 20px; } .left { left: 20px; }',
    '@media (max-width: 480px) {',
    '  .frame { inset: 0; width: 100%; height: 100% !important; max-height: none; border-radius: 0; }',
    '  .launcher.open { display: none; }',
    '}'
  ].join('\n');

  var host = null;
  var launcher = null;
  var frame = null;
  var iframe = null;
  var open = false;
  /** show() called before the launcher is mounted: open as soon as it is. */
  var wanted = false;

  function onMessage(event) {
    if (!iframe || event.origin !== widgetOrigin || event.source !== iframe.contentWindow) return;
    var message = event.data;
    if (!message || message.source !== 'assist-widget') return;
    if (message.type === 'close') hide();
    if (message.type === 'session.load') {
      iframe.contentWindow.postMessage({ source: 'assist-embed', type: 'session', session: storedSession() }, widgetOrigin);
    }
    if (message.type === 'session.save') storeSession(message.session);
    if (message.type === 'session.clear') storeSession(null);
    if (message.type === 'resize' && typeof message.height === 'number' && message.height > 0) {
      frame.style.height = Math.round(Math.min(message.height, 800)) + 'px';
    }
  }

  /* Browsers that refuse storage to third-party frames leave the widget nowhere to keep its
     contact session; it asks this page to keep it, in the page's own localStorage. */
  var sessionKey = 'assist.contactSession.' + organizationId;

  function storedSession() {
    try {
      return JSON.parse(localStorage.getItem(sessionKey) || 'null');
    } catch (error) {
      return null;
    }
  }

  function storeSession(session) {
    try {
      if (session && typeof session.token === 'string') localStorage.setItem(sessionKey, JSON.stringify(session));
      else localStorage.removeItem(sessionKey);
    } catch (error) {
      // This page has no storage either: the session lasts as long as the page.
    }
  }

  /** The iframe is made on first open: visitors who never open the widget never load it. The
   *  fragment tells the widget which page it is on (a fragment never reaches a server log). */
  function ensureFrame() {
    if (iframe) return;
    var page = new URLSearchParams({
      pageUrl: location.href.slice(0, 2048),
      pageReferrer: document.referrer.slice(0, 2048),
      pageViewport: window.innerWidth + 'x' + window.innerHeight
    });
    iframe = document.createElement('iframe');
    iframe.src = widgetOrigin + '/widget?organizationId=' + encodeURIComponent(organizationId) + '#' + page;
    iframe.title = 'Chat with us';
    iframe.allow = 'microphone; autoplay; clipboard-write';
    frame.appendChild(iframe);
  }

  function render(launcherState) {
    launcher.innerHTML = launcherState ? CLOSE_ICON : CHAT_ICON;
    launcher.setAttribute('aria-label', launcherState ? 'Close chat' : 'Open chat');
    launcher.setAttribute('aria-expanded', String(launcherState));
    launcher.classList.toggle('open', launcherState);
    frame.classList.toggle('open', launcherState);
  }

  function show() {
    if (!host) {
      wanted = true;
      return;
    }
    ensureFrame();
    open = true;
    render(true);
  }

  function hide() {
    wanted = false;
    if (!host) return;
    open = false;
    render(false);
  }

  function destroy() {
    window.removeEventListener('message', onMessage);
    if (host) host.remove();
    host = launcher = frame = iframe = null;
    open = false;
    delete window.AssistWidget;
  }

  function mount(settings) {
    var theme = (settings && settings.theme) || {};
    var position = requestedPosition || theme.position || 'bottom-right';
    var side = position === 'bottom-left' ? 'left' : 'right';
    host = document.createElement('div');
    host.id = 'assist-widget';
    host.setAttribute('data-organization-id', organizationId);
    var root = host.attachShadow({ mode: 'open' });
    var style = document.createElement('style');
    style.textContent = STYLE;
    root.appendChild(style);
    if (/^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(theme.primaryColor || '')) {
      host.style.setProperty('--assist-primary', theme.primaryColor);
      host.style.setProperty('--assist-on-primary', readableOn(theme.primaryColor));
    }
    frame = document.createElement('div');
    frame.className = 'frame ' + side;
    launcher = document.createElement('button');
    launcher.type = 'button';
    launcher.className = 'launcher ' + side;
    launcher.addEventListener('click', function () { open ? hide() : show(); });
    root.appendChild(frame);
    root.appendChild(launcher);
    render(false);
    document.body.appendChild(host);
    window.addEventListener('message', onMessage);
  }

  /** Black or white, whichever reads better on the brand colour. */
  function readableOn(hex) {
    var h = hex.slice(1);
    if (h.length === 3) h = h[0] + h[0] + h[1] + h[1] + h[2] + h[2];
    var r = parseInt(h.slice(0, 2), 16), g = parseInt(h.slice(2, 4), 16), b = parseInt(h.slice(4, 6), 16);
    return (0.299 * r + 0.587 * g + 0.114 * b) > 160 ? '#111827' : '#ffffff';
  }

  window.AssistWidget = { show: show, hide: hide, destroy: destroy };

  /* The launcher takes the organization's colour and side; an unknown organization gets no
     launcher at all, rather than a button that opens an error. Any other failure still mounts
     it with the default look: the widget page reports what is wrong. */
  var settingsUrl = widgetOrigin + '/v1/widget/' + encodeURIComponent(organizationId) + '/settings';
  fetch(settingsUrl, { credentials: 'omit' }).then(function (response) {
    if (response.status === 404) {
      console.error('[assist] organization ' + organizationId + ' is not known to assist');
      return undefined;
    }
    return response.ok ? response.json().catch(function () { return null; }) : null;
  }, function () { return null; }).then(function (settings) {
    if (settings === undefined || !window.AssistWidget) return;
    var ready = function () {
      mount(settings);
      if (wanted) show();
    };
    document.body ? ready() : document.addEventListener('DOMContentLoaded', ready);
  });
})();
