// Stylesheets the bundle imports (esbuild writes them to app.css).
declare module "*.css";
