// Images fetched before they are shown, so the next question appears with its pictures at once.
// The Image objects are kept (up to `keep`, oldest dropped first) because a browser may drop an
// image nothing holds before it is shown.

export function preloader(keep) {
  const preloaded = new Map();
  return (urls) => {
    for (const url of urls) {
      if (preloaded.has(url)) continue;
      const image = new Image();
      image.decoding = 'async';
      image.src = url;
      preloaded.set(url, image);
      if (preloaded.size > keep) preloaded.delete(preloaded.keys().next().value);
    }
  };
}
